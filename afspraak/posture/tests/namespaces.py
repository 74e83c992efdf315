"""Two private network namespaces joined by a veth pair, for the firewall tests.

Each namespace is held by a process started with ``unshare --net`` that dies with the test
process (parent-death signal), taking its namespace, interfaces and rules with it; nothing
is ever configured in the host's namespace (the veth pair is created from inside the
server's namespace, its peer put straight into the client's).
"""

import ctypes
import json
import signal
import subprocess
import sys
from pathlib import Path

SERVER_ADDRESS = "10.213.0.1"
CLIENT_ADDRESS = "10.213.0.2"
ADMIN_ADDRESS = "10.213.0.3"
# In the cluster set, but no address the client has.
CLUSTER_ADDRESS = "10.213.0.9"
PORTS = (22, 80, 443, 2379, 5432, 6379, 8008, 26379)
UNSHARE, NSENTER, NFT, IP = "/usr/bin/unshare", "/usr/bin/nsenter", "/usr/sbin/nft", "/usr/sbin/ip"
_PR_SET_PDEATHSIG = 1

_LISTENER = """
import socket, sys, threading
listeners = [socket.create_server(("0.0.0.0", int(port))) for port in sys.argv[1:]]
def answer(listener):
    while True:
        connection, _ = listener.accept()
        connection.close()
for listener in listeners:
    threading.Thread(target=answer, args=(listener,), daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
"""

_PROBE = """
import json, socket, sys
from concurrent.futures import ThreadPoolExecutor
source, server, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
def answers(port):
    try:
        socket.create_connection((server, port), timeout=1.5, source_address=(source, 0)).close()
        return True
    except OSError:
        return False
with ThreadPoolExecutor(len(ports)) as pool:
    print(json.dumps(sorted(p for p, ok in zip(ports, pool.map(answers, ports)) if ok)))
"""


def die_with_parent() -> None:
    """Have the calling child process killed when its parent dies (run between fork and exec)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 (fixed programs, test arguments)
        argv, capture_output=True, text=True, timeout=60, check=False, env=env
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed: {result.stderr}{result.stdout}")
    return result


class Namespace:
    """A private network namespace held by one process."""

    def __init__(self, *program: str) -> None:
        self.process = subprocess.Popen(  # noqa: S603 (fixed programs, test arguments)
            [UNSHARE, "--net", "--", *program],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            # Only a prctl call between fork and exec.
            preexec_fn=die_with_parent,
        )

    def run(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Run a command inside this namespace and return its result (it must succeed)."""
        return _run([NSENTER, "--target", str(self.process.pid), "--net", "--", *argv], env=env)

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


class NamespacePair:
    """A server namespace listening on ``PORTS`` and a client namespace that probes it."""

    def __init__(self) -> None:
        self.server = Namespace(sys.executable, "-c", _LISTENER, *map(str, PORTS))
        self.client = Namespace("sleep", "infinity")
        try:
            assert self.server.process.stdout is not None
            assert self.server.process.stdout.readline().strip() == "ready"
            self._wire()
        except BaseException:
            self.stop()
            raise

    def _wire(self) -> None:
        peer = str(self.client.process.pid)
        self.server.run(
            IP, "link", "add", "veth-s", "type", "veth", "peer", "veth-c", "netns", peer
        )
        for namespace, device, addresses in (
            (self.server, "veth-s", (SERVER_ADDRESS,)),
            (self.client, "veth-c", (CLIENT_ADDRESS, ADMIN_ADDRESS)),
        ):
            for address in addresses:
                namespace.run(IP, "address", "add", f"{address}/24", "dev", device)
            namespace.run(IP, "link", "set", device, "up")
            namespace.run(IP, "link", "set", "lo", "up")

    def load_ruleset(self, ruleset: Path) -> None:
        """Load ``ruleset`` in the server's namespace, with the test's admin and cluster sets."""
        self.server.run(NFT, "-f", str(ruleset))
        for name, address in (("admin_v4", ADMIN_ADDRESS), ("cluster_v4", CLUSTER_ADDRESS)):
            self.server.run(NFT, f"flush set inet afspraak {name}")
            self.server.run(NFT, f"add element inet afspraak {name} {{ {address} }}")

    def answering_ports(self, source: str) -> list[int]:
        """Return the ports of the server that accept a connection from ``source``."""
        result = self.client.run(
            sys.executable, "-c", _PROBE, source, SERVER_ADDRESS, *map(str, PORTS)
        )
        return json.loads(result.stdout)

    def stop(self) -> None:
        self.server.stop()
        self.client.stop()

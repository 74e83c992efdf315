"""HAProxy in front of the app nodes, from ``deploy/haproxy/haproxy.cfg``, and its runtime API.

The loopback run reads the very file production uses; only the environment differs
(the file names every variable it reads). The runtime API, a unix socket, is how a
rolling restart takes one node out of service and puts it back.
"""

import csv
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from afspraak.cluster.loopback import LOOPBACK, ClusterError, free_port, wait_until
from afspraak.server.supervisor import ChildSpec, Supervisor

CONFIG_FILE = Path(__file__).resolve().parents[2] / "deploy" / "haproxy" / "haproxy.cfg"
BACKEND = "app"
# The app nodes the configuration names, in order (``server app1 "${AFSPRAAK_APP1}"``…).
SERVER_NAMES = ("app1", "app2")
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class ServerState:
    """What HAProxy knows of one app node right now."""

    status: str  # UP, DOWN, DRAIN, MAINT, "UP 1/2"…
    sessions: int  # requests the node is serving
    queued: int  # requests waiting for it
    total: int  # requests it was sent since HAProxy started


@dataclass(frozen=True)
class HAProxy:
    """A running HAProxy: its ports, the CA its certificate chains to, and its runtime API."""

    https_port: int
    http_port: int
    socket_path: Path
    log_file: Path

    @property
    def url(self) -> str:
        """Return the HTTPS address clients use."""
        return f"https://localhost:{self.https_port}"

    def command(self, line: str) -> str:
        """Send one command to the runtime API and return its answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as api:
            api.settimeout(5)
            api.connect(str(self.socket_path))
            api.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := api.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, ServerState]:
        """Return the state of every app node, by server name."""
        text = self.command("show stat").lstrip("# ")
        states = {}
        for row in csv.DictReader(text.splitlines()):
            if row["pxname"] == BACKEND and row["svname"] in SERVER_NAMES:
                states[row["svname"]] = ServerState(
                    status=row["status"],
                    sessions=int(row["scur"] or 0),
                    queued=int(row["qcur"] or 0),
                    total=int(row["stot"] or 0),
                )
        return states

    def set_state(self, server: str, state: str) -> None:
        """Put an app node in ``ready``, ``drain`` or ``maint`` state; raise if HAProxy refuses."""
        answer = self.command(f"set server {BACKEND}/{server} state {state}").strip()
        if answer:
            raise ClusterError(f"HAProxy refused to set {server} to {state}: {answer}")

    def wait_until_idle(self, server: str, timeout: float) -> float:
        """Wait until no request is being served by or queued for ``server``; return the wait."""

        def is_idle() -> bool:
            state = self.servers()[server]
            return state.sessions == 0 and state.queued == 0

        return wait_until(is_idle, what=f"draining {server}", timeout=timeout)

    def wait_until_up(self, server: str, timeout: float) -> float:
        """Wait until HAProxy's health checks find ``server`` up; return the wait."""
        return wait_until(
            lambda: self.servers()[server].status == "UP",
            what=f"HAProxy's health check of {server}",
            timeout=timeout,
        )


def check_configuration(environment: dict[str, str]) -> None:
    """Have HAProxy check the configuration with these values; raise with its complaint."""
    result = subprocess.run(  # noqa: S603 (fixed arguments, our own configuration file)
        # Not quiet (-q): that would also silence the complaint.
        [_executable(), "-c", "-f", str(CONFIG_FILE)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if result.returncode != 0:
        complaint = (result.stdout + result.stderr).strip()
        raise ClusterError(f"HAProxy rejects {CONFIG_FILE}: {complaint}")


@contextmanager
def running_haproxy(
    directory: Path,
    *,
    nodes: Sequence[str],
    site_url: str,
    https_port: int,
    tls_cert: Path,
    tls_key: Path,
    address: str = LOOPBACK,
    http_port: int = 0,
    enter: Sequence[str] = (),
) -> Iterator[HAProxy]:
    """Run HAProxy on ``https_port`` (and a free plain port) in front of ``nodes`` until the end.

    ``address`` is where it listens ("" for every address, as production does); ``enter`` is
    a command that runs it elsewhere (``nsenter`` into a network namespace).
    """
    if len(nodes) != len(SERVER_NAMES):
        raise ClusterError(
            f"{CONFIG_FILE} names {len(SERVER_NAMES)} app nodes, not {len(nodes)}: "
            "add a server line (and its variable) there first"
        )
    directory.mkdir(parents=True, exist_ok=True)
    # HAProxy takes the chain and the key from one file.
    pem = directory / "site.pem"
    pem.touch(mode=0o600)
    pem.write_bytes(tls_cert.read_bytes() + tls_key.read_bytes())
    proxy = HAProxy(
        https_port=https_port,
        http_port=http_port or free_port(),
        socket_path=directory / "haproxy.sock",
        log_file=directory / "haproxy.log",
    )
    environment = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin"),
        "AFSPRAAK_HAPROXY_HTTPS_BIND": f"{address}:{proxy.https_port}",
        "AFSPRAAK_HAPROXY_HTTP_BIND": f"{address}:{proxy.http_port}",
        "AFSPRAAK_HAPROXY_CERT": str(pem),
        "AFSPRAAK_HAPROXY_SOCKET": str(proxy.socket_path),
        "AFSPRAAK_SITE_URL": site_url,
        "AFSPRAAK_SITE_HOST": urlsplit(site_url).hostname or "localhost",
    } | {f"AFSPRAAK_APP{number}": node for number, node in enumerate(nodes, start=1)}
    check_configuration(environment)
    supervisor = Supervisor(
        [
            ChildSpec(
                name="HAProxy",
                # -db: stay in the foreground, so the supervisor watches and stops it.
                argv=[*enter, _executable(), "-db", "-f", str(CONFIG_FILE)],
                env=environment,
                log_file=proxy.log_file,
            )
        ],
        stop_timeout=STOP_TIMEOUT_SECONDS,
    )
    supervisor.start()
    try:
        wait_until(
            lambda: _all_up(proxy),
            what="HAProxy and its health checks of the app nodes",
            timeout=READY_TIMEOUT_SECONDS,
            is_alive=lambda: supervisor.failure() is None,
        )
        yield proxy
    finally:
        supervisor.stop()


def _all_up(proxy: HAProxy) -> bool:
    try:
        states = proxy.servers()
    except OSError:
        return False
    return len(states) == len(SERVER_NAMES) and all(s.status == "UP" for s in states.values())


def _executable() -> str:
    executable = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if executable is None:
        raise ClusterError("haproxy is not installed: run scripts/ensure-system-packages.sh test")
    return executable

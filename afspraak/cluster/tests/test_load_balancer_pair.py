"""Two HAProxy machines share the site's address through keepalived (VRRP): when the one that
holds it stops answering, the other takes the address and serves (control D7).

Three private network namespaces joined by a bridge: lb1 and lb2, each running HAProxy from
``deploy/haproxy/haproxy.cfg`` in front of two stand-in app nodes and keepalived from
``deploy/keepalived/keepalived.conf`` (its addresses swapped for the test's); the client's
namespace holds the bridge. Nothing touches the host's network; every process dies with
the test process.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from afspraak.cluster.haproxy import HAProxy, running_haproxy
from afspraak.cluster.loopback import wait_until
from afspraak.cluster.processes import ServerProcess, Watchdog, start_server
from afspraak.posture.tests.namespaces import IP, NSENTER, Namespace
from afspraak.server.certificates import ensure_local_certificates, local_tls_files

pytestmark = pytest.mark.cluster

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
KEEPALIVED_CONFIG = DEPLOY / "keepalived" / "keepalived.conf"
KEEPALIVED = "/usr/sbin/keepalived"
CURL = "/usr/bin/curl"
SITE = "afspraak.test"
CLIENT_ADDRESS = "10.214.0.1"
BALANCERS = {"lb1": "10.214.0.3", "lb2": "10.214.0.4"}
FLOATING_ADDRESS = "10.214.0.5"
# The deployment's addresses (and lb2's lines) as deploy/keepalived/keepalived.conf writes them.
DEPLOYED = {"lb1": "10.0.0.3", "lb2": "10.0.0.4", "floating": "10.0.0.5"}
TAKEOVER_TIMEOUT = 30
APP_PORTS = (8001, 8002)

# A stand-in app node: answers every request, /healthz included, with its balancer's name.
_APP_NODE = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
name = sys.argv[2].encode()
class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(name)))
        self.end_headers()
        self.wfile.write(name)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Answer).serve_forever()
"""


@dataclass
class Balancer:
    """One load-balancer machine: its namespace, HAProxy and keepalived."""

    name: str
    namespace: Namespace
    directory: Path
    proxy: HAProxy | None = None
    keepalived: ServerProcess | None = None

    @property
    def enter(self) -> list[str]:
        """Return the command prefix that runs a program in this machine's namespace."""
        return [NSENTER, "--target", str(self.namespace.process.pid), "--net", "--"]

    def holds_the_floating_address(self) -> bool:
        """Tell whether keepalived has put the site's address on this machine."""
        shown = self.namespace.run(IP, "-brief", "address", "show", "eth0").stdout
        return f" {FLOATING_ADDRESS}/" in shown

    def kill_haproxy(self) -> None:
        """Kill HAProxy at once (SIGKILL), as a crash would."""
        assert self.proxy is not None
        pid = re.search(r"^Pid: (\d+)$", self.proxy.command("show info"), re.MULTILINE)
        assert pid, "HAProxy's runtime API names no pid"
        os.kill(int(pid.group(1)), signal.SIGKILL)


def keepalived_config(name: str) -> str:
    """Return deploy/keepalived/keepalived.conf for ``name`` with the test's addresses."""
    text = KEEPALIVED_CONFIG.read_text(encoding="utf-8")
    peer = "lb2" if name == "lb1" else "lb1"
    # lb2's file differs from lb1's in the lines marked "lb2:": the router id, the
    # priority and the two unicast addresses (swapped).
    replacements = [
        ("afspraak-lb1", f"afspraak-{name}"),
        ("priority 110", "priority 110" if name == "lb1" else "priority 100"),
        (f"unicast_src_ip {DEPLOYED['lb1']}", f"unicast_src_ip {BALANCERS[name]}"),
        (f"        {DEPLOYED['lb2']} ", f"        {BALANCERS[peer]} "),
        (f"{DEPLOYED['floating']}/24", f"{FLOATING_ADDRESS}/24"),
    ]
    for deployed, tested in replacements:
        assert deployed in text, f"{KEEPALIVED_CONFIG} no longer holds {deployed!r}"
        text = text.replace(deployed, tested)
    return text


def fetch_through_the_floating_address(client: Namespace, ca_file: Path) -> str:
    """Return the body of a request to the site's address over HTTPS, or "" when none came."""
    result = subprocess.run(  # noqa: S603 (fixed programs, test arguments)
        [
            NSENTER, "--target", str(client.process.pid), "--net", "--",
            CURL, "--silent", "--max-time", "2", "--cacert", str(ca_file),
            "--resolve", f"{SITE}:443:{FLOATING_ADDRESS}", f"https://{SITE}/",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )  # fmt: skip
    return result.stdout if result.returncode == 0 else ""


def _wire(client: Namespace, balancers: dict[str, Balancer]) -> None:
    client.run(IP, "link", "add", "br0", "type", "bridge")
    client.run(IP, "address", "add", f"{CLIENT_ADDRESS}/24", "dev", "br0")
    client.run(IP, "link", "set", "br0", "up")
    for name, balancer in balancers.items():
        peer = str(balancer.namespace.process.pid)
        client.run(IP, "link", "add", name, "type", "veth", "peer", "eth0", "netns", peer)
        client.run(IP, "link", "set", name, "master", "br0")
        client.run(IP, "link", "set", name, "up")
        balancer.namespace.run(IP, "address", "add", f"{BALANCERS[name]}/24", "dev", "eth0")
        balancer.namespace.run(IP, "link", "set", "eth0", "up")
        balancer.namespace.run(IP, "link", "set", "lo", "up")


def _start_haproxy(stack: ExitStack, balancer: Balancer, directory: Path) -> None:
    tls = local_tls_files(balancer.directory.parent / "tls")
    balancer.proxy = stack.enter_context(
        running_haproxy(
            directory,
            nodes=[f"127.0.0.1:{port}" for port in APP_PORTS],
            site_url=f"https://{SITE}",
            https_port=443,
            http_port=80,
            tls_cert=tls.server_cert,
            tls_key=tls.server_key,
            address="",
            enter=balancer.enter,
        )
    )


def _start_balancer(stack: ExitStack, balancer: Balancer) -> None:
    balancer.directory.mkdir(parents=True)
    for port in APP_PORTS:
        node = start_server(
            f"{balancer.name}-app{port}",
            [*balancer.enter, sys.executable, "-c", _APP_NODE, str(port), balancer.name],
            directory=balancer.directory,
            log_file=balancer.directory / f"app{port}.log",
        )
        stack.callback(node.stop)
    _start_haproxy(stack, balancer, balancer.directory / "haproxy")
    config = balancer.directory / "keepalived.conf"
    config.write_text(keepalived_config(balancer.name), encoding="utf-8")
    balancer.keepalived = start_server(
        f"{balancer.name}-keepalived",
        [
            *balancer.enter, KEEPALIVED, "--dont-fork", "--log-console", "--log-detail",
            "--use-file", str(config),
            "--pid", str(balancer.directory / "keepalived.pid"),
            "--vrrp_pid", str(balancer.directory / "vrrp.pid"),
            "--checkers_pid", str(balancer.directory / "checkers.pid"),
        ],
        directory=balancer.directory,
        log_file=balancer.directory / "keepalived.log",
    )  # fmt: skip
    stack.callback(balancer.keepalived.stop)


@pytest.fixture
def short_path() -> Iterator[Path]:
    """Return a directory whose path is short enough for HAProxy's unix socket."""
    # A socket address holds 108 bytes, and HAProxy binds "<path>.<pid>.tmp" first: pytest's
    # own directories are too deep.
    with tempfile.TemporaryDirectory(prefix="afspraak-lb-") as name:
        yield Path(name)


@pytest.fixture
def balancers(short_path: Path) -> Iterator[tuple[Namespace, dict[str, Balancer]]]:
    """Start the client's namespace and both load balancers; stop everything afterwards."""
    for program in (KEEPALIVED, CURL):
        assert Path(program).exists(), f"{program} is missing: scripts/ensure-system-packages.sh"
    ensure_local_certificates(short_path / "tls", hostnames=(SITE,))
    with ExitStack() as stack:
        stack.callback(Watchdog(short_path).close)
        client = Namespace("sleep", "infinity")
        stack.callback(client.stop)
        machines = {}
        for name in BALANCERS:
            machines[name] = Balancer(name, Namespace("sleep", "infinity"), short_path / name)
            stack.callback(machines[name].namespace.stop)
        _wire(client, machines)
        for balancer in machines.values():
            _start_balancer(stack, balancer)
        yield client, machines


def test_the_second_balancer_takes_the_address_when_the_first_stops_answering(balancers):
    client, machines = balancers
    lb1, lb2 = machines["lb1"], machines["lb2"]
    ca_file = local_tls_files(lb1.directory.parent / "tls").ca_cert

    # Started together, the higher priority takes the address.
    wait_until(
        lambda: fetch_through_the_floating_address(client, ca_file) == "lb1",
        what="lb1 serving the site's address",
        timeout=TAKEOVER_TIMEOUT,
    )
    assert lb1.holds_the_floating_address()
    assert not lb2.holds_the_floating_address()

    lb1.kill_haproxy()
    started = time.monotonic()
    wait_until(
        lambda: fetch_through_the_floating_address(client, ca_file) == "lb2",
        what="lb2 serving the site's address",
        timeout=TAKEOVER_TIMEOUT,
    )
    sys.stderr.write(
        f"\nload balancers: lb2 serves {time.monotonic() - started:.1f} s after lb1's "
        "HAProxy was killed\n"
    )
    assert lb2.holds_the_floating_address()
    assert not lb1.holds_the_floating_address()


def test_a_returning_balancer_leaves_the_address_where_it_is(balancers):
    client, machines = balancers
    lb1, lb2 = machines["lb1"], machines["lb2"]
    ca_file = local_tls_files(lb1.directory.parent / "tls").ca_cert
    wait_until(lb1.holds_the_floating_address, what="lb1 holding the address", timeout=30)
    lb1.kill_haproxy()
    wait_until(lb2.holds_the_floating_address, what="lb2 taking the address", timeout=30)
    log = lb1.directory / "keepalived.log"
    backups_before = log.read_text(encoding="utf-8").count("Entering BACKUP STATE")

    with ExitStack() as stack:
        _start_haproxy(stack, lb1, lb1.directory / "haproxy-again")
        # lb1's check passes again and it waits as a backup: no second interruption.
        wait_until(
            lambda: log.read_text(encoding="utf-8").count("Entering BACKUP STATE") > backups_before,
            what="lb1 back as a backup",
            timeout=TAKEOVER_TIMEOUT,
        )
        assert lb2.holds_the_floating_address()
        assert not lb1.holds_the_floating_address()
        assert fetch_through_the_floating_address(client, ca_file) == "lb2"

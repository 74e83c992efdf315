"""Run a real ``afspraak serve`` for the server tests: free ports, its own var dir, TLS clients."""

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 45


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_environment(var_dir: Path, https_port: int, **extra: str) -> dict[str, str]:
    """Return an environment for ``afspraak`` with only the given Afspraak settings."""
    # Settings variables of the developer's shell or of the test run (a PostgreSQL
    # test database, say) must not leak into the server under test.
    env = {name: value for name, value in os.environ.items() if not name.startswith("AFSPRAAK_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "afspraak.settings",
        "AFSPRAAK_VAR_DIR": str(var_dir),
        "AFSPRAAK_SITE_URL": f"https://localhost:{https_port}",
        "AFSPRAAK_WEB_WORKERS": "1",
        "AFSPRAAK_WEB_THREADS": "2",
        "AFSPRAAK_HUEY_WORKERS": "1",
    }
    return env | extra


def afspraak_command(*args: str) -> list[str]:
    """Return the argv that runs an ``afspraak`` management command with this interpreter."""
    return [sys.executable, "-m", "afspraak.cli", *args]


def run_afspraak(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run an ``afspraak`` command to its end and return its result (output as text)."""
    return subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        afspraak_command(*args),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def client_context(ca_file: Path, version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """Return a client context that verifies the server against ``ca_file``, pinned to a version."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if version is not None:
        context.minimum_version = version
        context.maximum_version = version
    return context


def handshake(context: ssl.SSLContext, port: int, server_name: str = "localhost") -> ssl.SSLSocket:
    """Open a TLS connection to 127.0.0.1:``port``; the caller closes it."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        return context.wrap_socket(raw, server_hostname=server_name)
    except BaseException:
        raw.close()
        raise


def process_tree(root: int) -> set[int]:
    """Return the ids of every live descendant of process ``root``."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (in parentheses) may hold spaces; the parent id follows it.
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    descendants: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - descendants
        descendants |= frontier
    return descendants


def is_running(pid: int) -> bool:
    """Tell whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def command_line(pid: int) -> str:
    """Return a process's command line, arguments separated by spaces."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class ServeProcess:
    """A running ``afspraak serve`` and what a test needs to talk to it."""

    process: subprocess.Popen
    https_port: int
    http_port: int
    ca_file: Path
    log: Path
    startup_seconds: float = field(default=0.0)

    @classmethod
    def start(
        cls, var_dir: Path, log: Path, *, http_port: int | None = None, **extra_env: str
    ) -> "ServeProcess":
        """Start ``afspraak serve`` on free ports and wait until it completes TLS handshakes."""
        https_port = free_port()
        http_port = free_port() if http_port is None else http_port
        env = serve_environment(var_dir, https_port, **extra_env)
        argv = afspraak_command("serve", "--port", str(https_port), "--http-port", str(http_port))
        started = time.monotonic()
        with log.open("wb") as output:
            process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
                argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
            )
        served = cls(process, https_port, http_port, var_dir / "tls" / "ca.pem", log)
        served.wait_until_ready(started)
        return served

    def output(self) -> str:
        """Return everything the server printed so far."""
        return self.log.read_text(errors="replace")

    def wait_until_ready(self, started: float) -> None:
        """Block until a verified TLS handshake succeeds; fail if the server dies or hangs."""
        context = client_context(self.ca_file)
        deadline = started + READY_TIMEOUT_SECONDS
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"afspraak serve exited early:\n{self.output()}")
            try:
                handshake(context, self.https_port).close()
            except (OSError, ssl.SSLError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"afspraak serve not ready:\n{self.output()}") from None
                time.sleep(0.05)
                continue
            self.startup_seconds = time.monotonic() - started
            return

    def stop(self, signum: signal.Signals = signal.SIGTERM) -> int:
        """Send ``signum`` and return the exit code (the server is killed if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            for pid in process_tree(self.process.pid):
                os.kill(pid, signal.SIGKILL)
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"afspraak serve did not stop:\n{self.output()}") from None

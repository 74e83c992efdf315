"""A real rsyslog receiving RFC 5425 syslog over TLS on 127.0.0.1, for the SIEM sink's tests."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from afspraak.server.certificates import ensure_local_certificates, local_tls_files

RSYSLOGD = "/usr/sbin/rsyslogd"
# One received message a line: app-name, msgid, then the message as rsyslog parsed it.
_CONFIG = """
global(
  workDirectory="{work}"
  defaultNetstreamDriver="ossl"
  defaultNetstreamDriverCAFile="{ca}"
  defaultNetstreamDriverCertFile="{cert}"
  defaultNetstreamDriverKeyFile="{key}"
)
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="received" type="string" string="%app-name% %msgid% %msg%\\n")
action(type="omfile" file="{received}" template="received")
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Rsyslog:
    """One rsyslogd in a temporary directory; ``stop`` and ``start`` it to restart the receiver."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        ensure_local_certificates(directory / "tls")
        self.tls = local_tls_files(directory / "tls")
        self.port = _free_port()
        self.received = directory / "received.log"
        self.config = directory / "rsyslog.conf"
        self.pidfile = directory / "rsyslogd.pid"
        (directory / "work").mkdir()
        self.config.write_text(
            _CONFIG.format(
                work=directory / "work",
                ca=self.tls.ca_cert,
                cert=self.tls.server_cert,
                key=self.tls.server_key,
                port=self.port,
                received=self.received,
            )
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"syslog+tls://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start rsyslogd and wait until it accepts connections."""
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments, our own files
            [RSYSLOGD, "-n", "-f", str(self.config), "-i", str(self.pidfile)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                detail = self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(f"rsyslogd exited: {detail!r}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("rsyslogd did not start listening within 10 s")

    def stop(self) -> None:
        """Stop rsyslogd (SIGTERM: it writes what it took, then exits) and wait for it."""
        if self.process is None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def lines(self) -> list[str]:
        """Return what rsyslog received so far, one message a line."""
        if not self.received.exists():
            return []
        return self.received.read_text(encoding="utf-8").splitlines()

    def wait_for(self, count: int, timeout: float = 10) -> list[str]:
        """Return the received lines once there are at least ``count`` of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if len(lines) >= count:
                return lines
            time.sleep(0.05)
        raise AssertionError(f"rsyslog received {len(self.lines())} lines, expected {count}")

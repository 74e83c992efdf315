"""The SIEM sink: where the audit stream's ECS JSON lines go (``AFSPRAAK_SIEM_SINK``).

``stderr`` (the default) and ``stdout`` write one line per event; ``file:PATH`` writes to
a file rotated by size; ``syslog+tls://HOST:PORT`` sends RFC 5424 messages over TCP with
TLS, octet-counted as RFC 5425 says, verifying the receiver against
``AFSPRAAK_SIEM_CA_FILE`` (or the system's CAs), optionally with a client certificate.

Every sink reports failure to its caller instead of swallowing it, as logging handlers
usually do: the lines are written by outbox handlers (``write_siem_lines``, the chain
head's), so a line that could not be written raises ``SiemUnavailableError``, the outbox
keeps the message in the database and delivers it again later. Nothing is buffered in
memory, where a restart of the process would lose it. A line counts as written once the
receiver's TCP stack has acknowledged it; a connection the receiver closed (it
restarted) is noticed before the next write, which then goes over a new connection.
"""

import contextlib
import fcntl
import logging
import re
import socket
import ssl
import struct
import sys
import termios
import threading
import time
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import NoReturn

from django.core.exceptions import ImproperlyConfigured

from afspraak.environment import parse_log_sink

# RFC 5424 facility 13, "log audit".
_FACILITY_LOG_AUDIT = 13
_SEVERITY_BY_LEVEL = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}
APP_NAME = "afspraak"
MSGID = "audit"
# RFC 5424 header fields are printable US-ASCII without spaces.
_NOT_HEADER_SAFE = re.compile(r"[^\x21-\x7e]")


class SiemUnavailableError(RuntimeError):
    """A line could not be written to the SIEM sink; the outbox delivers it again later."""


def check_tls_files(ca_file: str, cert_file: str, key_file: str) -> None:
    """Refuse a client certificate without its key (or the reverse) and files that are missing."""
    if bool(cert_file) != bool(key_file):
        raise ImproperlyConfigured(
            "AFSPRAAK_SIEM_CERT_FILE and AFSPRAAK_SIEM_KEY_FILE go together: set both or neither"
        )
    for setting, path in (
        ("AFSPRAAK_SIEM_CA_FILE", ca_file),
        ("AFSPRAAK_SIEM_CERT_FILE", cert_file),
        ("AFSPRAAK_SIEM_KEY_FILE", key_file),
    ):
        if path and not Path(path).is_file():
            raise ImproperlyConfigured(f"{setting}: {path} is not a readable file")


class _FailLoudly(logging.Handler):
    """A handler that raises what went wrong instead of printing it and carrying on."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        if isinstance(error, SiemUnavailableError):
            raise error
        raise SiemUnavailableError(f"the SIEM line was not written: {error}") from error


class SiemStreamHandler(_FailLoudly, logging.StreamHandler):
    """Write each line to a stream (stderr or stdout); raise when it cannot be written."""


class SiemFileHandler(_FailLoudly, RotatingFileHandler):
    """Write each line to a file rotated by size; raise when it cannot be written."""

    # The record last formatted and its line: the rotating handler formats each record
    # twice (once to measure it against the size limit), and an ECS line costs enough to
    # make once. Calls come under the handler's lock, one record at a time.
    _formatted: tuple[logging.LogRecord, str] | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._formatted is not None and self._formatted[0] is record:
            return self._formatted[1]
        line = super().format(record)
        self._formatted = (record, line)
        return line


def syslog_frame(
    message: str,
    *,
    severity: int,
    timestamp: datetime,
    hostname: str,
    procid: int,
    msgid: str = MSGID,
) -> bytes:
    """Return ``message`` as one RFC 5424 syslog message, octet-counted as RFC 5425 frames it."""
    header = " ".join(
        (
            f"<{_FACILITY_LOG_AUDIT * 8 + severity}>1",
            timestamp.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z"),
            _header_field(hostname, 255),
            APP_NAME,
            str(procid),
            _header_field(msgid, 32),
            "-",
        )
    )
    payload = f"{header} {message}".encode()
    # The length prefix, not a newline, ends the frame: a newline inside cannot start another.
    return f"{len(payload)} ".encode() + payload


def _header_field(value: str, limit: int) -> str:
    return _NOT_HEADER_SAFE.sub("_", value)[:limit] or "-"


class SyslogTlsTransport:
    """One TLS connection to a syslog receiver, opened again (with backoff) when it breaks."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        ca_file: str = "",
        cert_file: str = "",
        key_file: str = "",
        timeout: float = 5.0,
        first_backoff: float = 1.0,
        longest_backoff: float = 60.0,
    ) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._context = ssl.create_default_context(cafile=ca_file or None)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        if cert_file:
            self._context.load_cert_chain(cert_file, key_file)
        self._first_backoff, self._longest_backoff = first_backoff, longest_backoff
        self._backoff = 0.0
        self._retry_at = 0.0
        self._socket: ssl.SSLSocket | None = None
        self._lock = threading.Lock()

    def send(self, frame: bytes) -> None:
        """Write one frame and wait until the receiver acknowledged it, or raise."""
        with self._lock:
            connection = self._open_connection()
            try:
                connection.sendall(frame)
                self._await_acknowledgement(connection)
            except OSError as error:
                self._give_up(error)
            self._backoff = 0.0

    def close(self) -> None:
        """Close the connection (the next ``send`` opens a new one)."""
        with self._lock:
            self._drop_connection()

    def _open_connection(self) -> ssl.SSLSocket:
        if self._socket is not None and _is_open(self._socket, self.timeout):
            return self._socket
        self._drop_connection()
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            # Fail fast while the receiver is known to be down: the outbox's other topics
            # (booking e-mails) must not wait on a connection timeout per SIEM line.
            raise SiemUnavailableError(
                f"the syslog receiver {self.host}:{self.port} is down; next try in {wait:.0f}s"
            )
        try:
            raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
            try:
                connection = self._context.wrap_socket(raw, server_hostname=self.host)
            except OSError:
                raw.close()
                raise
        except OSError as error:
            self._give_up(error)
        self._socket = connection
        return connection

    def _await_acknowledgement(self, connection: ssl.SSLSocket) -> None:
        deadline = time.monotonic() + self.timeout
        while _unacknowledged_bytes(connection) > 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no acknowledgement within {self.timeout}s")
            time.sleep(0.0005)
        # A reset empties the send queue too: only an open connection means it arrived.
        if not _is_open(connection, self.timeout):
            raise ConnectionResetError("the receiver closed the connection")

    def _give_up(self, error: OSError) -> NoReturn:
        self._drop_connection()
        self._backoff = min(max(self._backoff * 2, self._first_backoff), self._longest_backoff)
        self._retry_at = time.monotonic() + self._backoff
        raise SiemUnavailableError(
            f"the syslog receiver {self.host}:{self.port} did not take the line: {error}"
        ) from error

    def _drop_connection(self) -> None:
        if self._socket is not None:
            # Closing what is already broken: nothing is left to save.
            with contextlib.suppress(OSError):
                self._socket.close()
            self._socket = None


def _is_open(connection: ssl.SSLSocket, timeout: float) -> bool:
    """Tell whether the receiver still holds the connection open (it never sends us data)."""
    connection.setblocking(False)
    try:
        while connection.recv(4096):
            pass  # a receiver has nothing to say; skip whatever it sent
        return False
    except (ssl.SSLWantReadError, BlockingIOError):
        return True
    except OSError:
        return False
    finally:
        connection.settimeout(timeout)


def _unacknowledged_bytes(connection: socket.socket) -> int:
    """Return the bytes written to the connection that its peer has not acknowledged yet."""
    # Linux's SIOCOUTQ (TIOCOUTQ) on a TCP socket: bytes sent or queued but not ACKed.
    answer = fcntl.ioctl(connection.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    return int(struct.unpack("i", answer)[0])


class SyslogTlsHandler(_FailLoudly):
    """Send each formatted line as an RFC 5424 message over TLS; raise when it was not taken."""

    def __init__(self, transport: SyslogTlsTransport, *, hostname: str = "") -> None:
        super().__init__()
        self.transport = transport
        self.hostname = hostname or socket.gethostname()

    def emit(self, record: logging.LogRecord) -> None:
        frame = syslog_frame(
            self.format(record),
            severity=_SEVERITY_BY_LEVEL.get(record.levelno, 6),
            timestamp=datetime.fromtimestamp(record.created, UTC),
            hostname=self.hostname,
            procid=record.process or 0,
        )
        self.transport.send(frame)

    def close(self) -> None:
        self.transport.close()
        super().close()


def build_siem_handler(
    sink: str,
    *,
    ca_file: str = "",
    cert_file: str = "",
    key_file: str = "",
    file_max_bytes: int = 50 * 1024 * 1024,
    file_backups: int = 5,
) -> logging.Handler:
    """Return the logging handler for the configured sink (``settings.LOGGING`` calls this)."""
    spec = parse_log_sink(sink, name="AFSPRAAK_SIEM_SINK")
    if spec.kind == "stderr":
        return SiemStreamHandler(sys.stderr)
    if spec.kind == "stdout":
        return SiemStreamHandler(sys.stdout)
    # parse_log_sink gives every file sink a path and every syslog sink a host and port.
    if spec.kind == "file" and spec.path is not None:
        return SiemFileHandler(
            spec.path, maxBytes=file_max_bytes, backupCount=file_backups, encoding="utf-8"
        )
    if spec.kind != "syslog+tls":
        raise ImproperlyConfigured(f"AFSPRAAK_SIEM_SINK: no sink of the kind {spec.kind!r}")
    check_tls_files(ca_file, cert_file, key_file)
    return SyslogTlsHandler(
        SyslogTlsTransport(
            spec.host, spec.port, ca_file=ca_file, cert_file=cert_file, key_file=key_file
        )
    )

"""A real SMTP server for tests (pytest plugin, loaded by the root conftest).

The ``smtp_server`` fixture starts aiosmtpd on 127.0.0.1 and a free port, in a thread
of the test process, and points Django's SMTP backend at it for the test: e-mail then
goes over a real SMTP conversation instead of into ``django.core.mail.outbox``. The
server keeps every message it accepted and stops when the test ends.
"""

import email
import email.policy
import errno
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from threading import Lock
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
_START_ATTEMPTS = 5


@dataclass(frozen=True)
class ReceivedMail:
    """One message the server accepted: its envelope and its parsed content."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        """Return the plain-text body."""
        part = self.message.get_body(preferencelist=("plain",))
        if part is None:
            raise AssertionError("the message has no text/plain body")
        return str(part.get_content())

    def calendar_parts(self) -> list[EmailMessage]:
        """Return the text/calendar parts (the inline invitation)."""
        return [part for part in self.message.walk() if part.get_content_type() == "text/calendar"]

    def attachment(self, filename: str) -> bytes:
        """Return the content of the attachment named ``filename``."""
        for part in self.message.iter_attachments():
            if part.get_filename() == filename:
                payload = part.get_payload(decode=True)
                if not isinstance(payload, bytes):
                    raise AssertionError(f"attachment {filename!r} has no content")
                return payload
        raise AssertionError(f"no attachment named {filename!r}")


@dataclass
class _Collector:
    """The aiosmtpd handler: accept every message and keep it."""

    received: list[ReceivedMail] = field(default_factory=list)
    lock: Lock = field(default_factory=Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 -- aiosmtpd's hook name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        if not isinstance(message, EmailMessage):
            return "554 Message could not be parsed"
        with self.lock:
            self.received.append(
                ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), message)
            )
        return "250 Message accepted for delivery"


class SMTPServer:
    """A running SMTP server and the messages it received."""

    def __init__(self, controller: Controller, collector: _Collector) -> None:
        self._controller = controller
        self._collector = collector
        self.host: str = HOST
        self.port: int = controller.port
        self._stopped = False

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._collector.lock:
            return list(self._collector.received)

    def to(self, address: str) -> list[ReceivedMail]:
        """Return the messages delivered to ``address`` (in the envelope)."""
        return [mail for mail in self.messages if address in mail.rcpt_tos]

    def clear(self) -> None:
        with self._collector.lock:
            self._collector.received.clear()

    def stop(self) -> None:
        """Stop the server and free its port (again: nothing happens)."""
        if not self._stopped:
            self._stopped = True
            self._controller.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def start_smtp_server() -> SMTPServer:
    """Start an SMTP server on 127.0.0.1 and a free port (retrying if the port was taken)."""
    for attempt in range(_START_ATTEMPTS):
        collector = _Collector()
        controller = Controller(collector, hostname=HOST, port=_free_port(), ready_timeout=10)
        try:
            controller.start()
        except OSError as error:
            # Another process took the free port between the probe and the bind.
            if error.errno != errno.EADDRINUSE or attempt == _START_ATTEMPTS - 1:
                raise
            continue
        return SMTPServer(controller, collector)
    raise AssertionError("unreachable")


@pytest.fixture
def smtp_server(settings: Any) -> Iterator[SMTPServer]:
    """Run a real SMTP server for the test and have Django send its e-mail there."""
    server = start_smtp_server()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = server.host
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    try:
        yield server
    finally:
        server.stop()

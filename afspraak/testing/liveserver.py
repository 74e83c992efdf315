"""An HTTPS live server for browser tests (pytest plugin, loaded by the root conftest).

The ``https_live_server`` fixture serves the Django app over TLS on 127.0.0.1 and a free
port, from a thread of the test process that shares the test database (for in-memory
SQLite, the very connection). Session and CSRF cookies are ``Secure`` with a ``__Host-``
prefix and WebAuthn needs a secure context, so plain HTTP would not do.

The certificate comes from a throw-away local CA (``ensure_local_certificates``) and
names ``localhost``; the server's origin is ``https://localhost:<port>``. The fixture
points ``ALLOWED_HOSTS``, ``CSRF_TRUSTED_ORIGINS`` and ``SITE_URL`` at that origin for
the test. E-mails sent by the app land in ``django.core.mail.outbox`` as usual.
"""

import base64
import hashlib
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler

from afspraak.server.certificates import LocalTLSFiles, ensure_local_certificates, local_tls_files

BIND_ADDRESS = "127.0.0.1"
SERVER_NAME = "localhost"


@dataclass(frozen=True)
class HTTPSLiveServer:
    """Where the live server answers and what a client needs to trust it."""

    url: str
    host: str
    port: int
    tls: LocalTLSFiles
    spki_sha256: str

    def __add__(self, path: str) -> str:
        return self.url + path


class TLSRequestHandler(QuietWSGIRequestHandler):
    """Tell Django the request arrived over HTTPS (wsgiref reads the CGI ``HTTPS`` flag)."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ["HTTPS"] = "on"
        return environ


class TLSWSGIServer(ThreadedWSGIServer):
    """Django's threaded test server, speaking TLS on every accepted connection."""

    def __init__(self, *args: Any, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ssl_context = ssl_context

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake happens here, in the connection's own thread, so a client that
        # stalls or aborts it cannot hold up the accept loop.
        try:
            tls_socket = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(tls_socket, client_address)
        except (ssl.SSLError, ConnectionError):
            return
        finally:
            tls_socket.close()


class TLSLiveServerThread(LiveServerThread):
    """Django's live-server thread, serving through :class:`TLSWSGIServer`."""

    def __init__(self, *args: Any, ssl_context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ssl_context = ssl_context

    def _create_server(self, connections_override: Any = None) -> TLSWSGIServer:
        return TLSWSGIServer(
            (self.host, self.port),
            TLSRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
            ssl_context=self.ssl_context,
        )


def server_ssl_context(tls: LocalTLSFiles) -> ssl.SSLContext:
    """Return a TLS 1.2+ server context holding the local server certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.server_cert, tls.server_key)
    return context


def spki_sha256(certificate: Path) -> str:
    """Return the base64 SHA-256 of a certificate's public key (Chromium's SPKI pin format)."""
    public_key = x509.load_pem_x509_certificate(certificate.read_bytes()).public_key()
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(hashlib.sha256(der).digest()).decode("ascii")


def _one_request_at_a_time(application: Any) -> Any:
    """Serve the app (static files included) one request at a time.

    Static files come from the app's own WhiteNoise middleware, as in production, so the
    hashed names that ManifestStaticFilesStorage puts in pages resolve. The server's
    threads share the test's one in-memory SQLite connection: two requests at once (a
    page's script fetching a fragment while another request runs) would interleave their
    transactions on it ("no such savepoint"), so each request, its body included, runs
    alone.
    """
    lock = threading.Lock()

    def serialized(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with lock:
            result = application(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    return serialized


@pytest.fixture(scope="session")
def _https_live_server_thread(
    django_db_setup: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TLSLiveServerThread, LocalTLSFiles]]:
    tls_dir = tmp_path_factory.mktemp("tls")
    ensure_local_certificates(tls_dir, hostnames=(SERVER_NAME, BIND_ADDRESS))
    tls = local_tls_files(tls_dir)
    # An in-memory SQLite test database exists only inside its connection: the server
    # thread must use the test's connection to see the test's data.
    shared = {
        conn.alias: conn
        for conn in connections.all()
        if isinstance(conn, SQLiteDatabaseWrapper) and conn.is_in_memory_db()
    }
    thread = TLSLiveServerThread(
        BIND_ADDRESS,
        _one_request_at_a_time,
        connections_override=shared,
        ssl_context=server_ssl_context(tls),
    )
    thread.daemon = True
    for conn in shared.values():
        conn.inc_thread_sharing()
    thread.start()
    thread.is_ready.wait()
    try:
        if thread.error:
            raise thread.error
        yield thread, tls
    finally:
        thread.terminate()
        for conn in shared.values():
            conn.dec_thread_sharing()


@pytest.fixture
def https_live_server(
    _https_live_server_thread: tuple[TLSLiveServerThread, LocalTLSFiles],
    transactional_db: None,
    settings: Any,
) -> HTTPSLiveServer:
    """Serve the app over HTTPS at ``https://localhost:<port>`` for this test."""
    thread, tls = _https_live_server_thread
    url = f"https://{SERVER_NAME}:{thread.port}"
    settings.ALLOWED_HOSTS = [SERVER_NAME]
    settings.CSRF_TRUSTED_ORIGINS = [url]
    settings.SITE_URL = url
    return HTTPSLiveServer(
        url=url,
        host=SERVER_NAME,
        port=thread.port,
        tls=tls,
        spki_sha256=spki_sha256(tls.server_cert),
    )

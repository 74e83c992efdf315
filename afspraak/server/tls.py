"""The server's TLS policy (control D1 in transit): TLS 1.2 or newer, forward-secret AEAD only.

The policy follows Mozilla's "intermediate" profile. TLS 1.3 stays enabled (and is
what current clients negotiate); for TLS 1.2 only ECDHE suites with AES-GCM or
ChaCha20-Poly1305 are offered. The DHE suites of the profile are left out because
the server configures no Diffie-Hellman parameters. Key-exchange groups cannot be
chosen from Python 3.11; ``deploy/openssl-afspraak.cnf`` sets them for the web
server process (see ``afspraak.server.processes``).
"""

import os
import ssl
import threading
from collections.abc import Callable
from typing import Any

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2

TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
)

# Mozilla "intermediate" groups; enforced by OpenSSL's configuration, not by this module.
KEY_EXCHANGE_GROUPS = ("X25519", "prime256v1", "secp384r1")


def harden_server_context(context: ssl.SSLContext) -> ssl.SSLContext:
    """Restrict a server context to TLS 1.2+ with forward-secret AEAD suites."""
    context.minimum_version = MINIMUM_VERSION
    context.set_ciphers(":".join(TLS12_CIPHERS))
    # Mozilla's profile lets the client pick among suites that are all strong, so a
    # client without AES hardware can choose ChaCha20.
    context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    # TLS 1.2 session tickets are encrypted under a key that lives as long as the
    # process, which would undo forward secrecy; renegotiation is an attack surface
    # nobody needs.
    context.options |= ssl.OP_NO_TICKET | ssl.OP_NO_RENEGOTIATION | ssl.OP_NO_COMPRESSION
    return context


class _ContextCache:
    """One hardened context per worker process, rebuilt when the certificate files change.

    gunicorn asks for a context on every connection; building one costs about 2 ms
    and a fresh context per connection makes session resumption impossible. Keying
    the cache on the files' identity lets a renewed certificate take effect without
    a restart.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[Any, ...] | None = None
        self._context: ssl.SSLContext | None = None

    def get(self, key: tuple[Any, ...], build: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        """Return the cached context for ``key``, building it when the key changed."""
        with self._lock:
            if self._context is None or self._key != key:
                self._context = build()
                self._key = key
            return self._context


_contexts = _ContextCache()


def _file_identity(path: str) -> tuple[int, int, int, int]:
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def gunicorn_ssl_context(
    conf: Any, default_ssl_context_factory: Callable[[], ssl.SSLContext]
) -> ssl.SSLContext:
    """Build gunicorn's server context with the hardened TLS policy (its ``ssl_context`` hook)."""
    key = (
        os.getpid(),
        conf.certfile,
        conf.keyfile,
        _file_identity(conf.certfile),
        _file_identity(conf.keyfile),
    )
    return _contexts.get(key, lambda: harden_server_context(default_ssl_context_factory()))

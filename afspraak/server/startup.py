"""Checks ``afspraak serve`` runs before it starts anything; any failure stops it (fail closed)."""

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from afspraak.crypto.keyring import MasterKeyError, master_keyring


class StartupError(Exception):
    """The server cannot start; the message tells the operator what to fix, in one line."""


def check_port(option: str, port: int, *, allow_zero: bool = False) -> None:
    """Refuse a port number outside 1..65535 (or 0 where 0 means "off")."""
    lowest = 0 if allow_zero else 1
    if not lowest <= port <= 65535:
        raise StartupError(f"{option} must be between {lowest} and 65535, not {port}")


def check_tls_files(cert: Path, key: Path) -> None:
    """Refuse a missing or unreadable certificate or key, or a key that does not fit it."""
    for kind, path, variable, option in (
        ("certificate", cert, "AFSPRAAK_TLS_CERT", "--cert"),
        ("private key", key, "AFSPRAAK_TLS_KEY", "--key"),
    ):
        if not path.exists():
            raise StartupError(
                f"TLS {kind} {path} is missing: run `afspraak setup` "
                f"or point {variable} (or {option}) at it"
            )
        try:
            path.read_bytes()
        except OSError as error:
            raise StartupError(f"TLS {kind} {path} cannot be read: {error.strerror}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        # An empty password makes an encrypted key fail here instead of OpenSSL
        # prompting on the terminal, which would hang a service.
        context.load_cert_chain(certfile=cert, keyfile=key, password=b"")
    except ssl.SSLError as error:
        raise StartupError(
            f"TLS certificate {cert} and key {key} are not a PEM certificate with its "
            f"matching unencrypted private key ({error.reason or error})"
        ) from None


def check_master_keyset() -> None:
    """Refuse to serve without a usable master keyring: a safe keyset file, or the KMS key."""
    try:
        master_keyring()
    except MasterKeyError as error:
        raise StartupError(str(error)) from None


def check_openssl_config(path: Path) -> None:
    """Refuse to start the web server without the OpenSSL configuration that limits its groups."""
    if not path.is_file():
        raise StartupError(
            f"OpenSSL configuration {path} is missing: it restricts the TLS key-exchange "
            "groups; restore it or set AFSPRAAK_OPENSSL_CONF"
        )


def check_can_listen(host: str, port: int) -> None:
    """Refuse a listening address that cannot be bound (in use, not local, no permission)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def site_host(site_url: str) -> str:
    """Return the host of the https site URL, the only host the redirect listener names."""
    parts = urlsplit(site_url)
    if parts.scheme != "https" or not parts.hostname:
        raise StartupError(
            f"AFSPRAAK_SITE_URL must be an https:// URL with a host name, not {site_url!r}"
        )
    return parts.hostname

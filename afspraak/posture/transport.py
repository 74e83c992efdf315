"""Checks of the served endpoint over the network: its TLS and its security headers (D1, N1)."""

import http.client
import re
import shutil
import socket
import ssl
import subprocess
import time
import warnings
from dataclasses import dataclass

from django.contrib.staticfiles.storage import staticfiles_storage

from afspraak.posture.results import Result, Target, failed, passed

EXPIRY_MARGIN_DAYS = 14
_TIMEOUT_SECONDS = 10
# Everything outside Mozilla's intermediate TLS 1.2 suites (forward-secret AEAD): suites
# without forward secrecy, CBC, 3DES, RC4, NULL, anonymous and export ones.
WEAK_TLS12_CIPHERS = (
    "ALL:COMPLEMENTOFALL:!ECDHE+AESGCM:!ECDHE+CHACHA20:!DHE+AESGCM:!DHE+CHACHA20:@SECLEVEL=0"
)
MIN_HSTS_SECONDS = 31536000
# The key-exchange groups OpenSSL can offer that Mozilla's intermediate profile leaves out
# (it allows X25519, P-256 and P-384: afspraak/server/tls.py KEY_EXCHANGE_GROUPS).
OTHER_GROUPS = (
    "X448",
    "secp521r1",
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
)


def _connect(target: Target, context: ssl.SSLContext) -> ssl.SSLSocket:
    raw = socket.create_connection((target.host, target.port), timeout=_TIMEOUT_SECONDS)
    try:
        return context.wrap_socket(raw, server_hostname=target.server_name)
    except BaseException:
        raw.close()
        raise


def verified_context(target: Target) -> ssl.SSLContext:
    """Return a client context verifying the endpoint with the audit's CA (or the system's)."""
    return ssl.create_default_context(cafile=target.ca_file or None)


def _unverified_context(
    lowest: ssl.TLSVersion, highest: ssl.TLSVersion, ciphers: str
) -> ssl.SSLContext:
    # Offers what a careless server might accept; only the handshake's success matters.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(ciphers)
    with warnings.catch_warnings():
        # Offering TLS 1.0 and 1.1 is deprecated: here it is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = lowest
        context.maximum_version = highest
    return context


def _accepted(target: Target, context: ssl.SSLContext) -> str | None:
    """Return the protocol and suite the endpoint agreed to, or None when it refused."""
    try:
        with _connect(target, context) as connection:
            cipher = connection.cipher()
            return f"{connection.version()} {cipher[0] if cipher else ''}".strip()
    except OSError:
        # A refused handshake (SSLError), a reset or a timeout: not accepted.
        return None


def _accepted_groups(target: Target) -> list[str]:
    """Return the groups of ``OTHER_GROUPS`` the endpoint agrees to use, one offered at a time.

    Python's ssl module cannot choose the groups a client offers; the openssl command can.
    """
    openssl = shutil.which("openssl")
    if openssl is None:
        raise FileNotFoundError("the openssl command is missing (Debian package openssl)")
    accepted = []
    for group in OTHER_GROUPS:
        command = [openssl, "s_client", "-connect", f"{target.host}:{target.port}"]
        command += ["-servername", target.server_name, "-groups", group]
        try:
            handshake = subprocess.run(  # noqa: S603 (our own arguments, no shell)
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            continue  # no handshake: not accepted
        if handshake.returncode == 0:
            accepted.append(group)
    return accepted


def check_tls(target: Target) -> Result:
    """Fail on TLS below 1.2, a weak suite or group, an untrusted or soon-expiring certificate."""
    endpoint = f"{target.host}:{target.port}"
    try:
        with _connect(target, verified_context(target)) as connection:
            certificate = connection.getpeercert()
            version = connection.version()
    except ssl.SSLCertVerificationError as error:
        return failed(f"{endpoint}: the certificate is not trusted: {error.verify_message}")
    except (OSError, ssl.SSLError) as error:
        return failed(f"{endpoint}: no TLS handshake: {error}")
    problems = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        oldest, old_newest = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    old = _accepted(target, _unverified_context(oldest, old_newest, "ALL:@SECLEVEL=0"))
    if old:
        problems.append(f"accepts {old} (below TLS 1.2)")
    weak = _accepted(
        target,
        _unverified_context(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2, WEAK_TLS12_CIPHERS),
    )
    if weak:
        problems.append(f"accepts the weak suite {weak}")
    try:
        groups = _accepted_groups(target)
    except OSError as error:
        problems.append(f"cannot check the key-exchange groups: {error}")
    else:
        if groups:
            problems.append(f"accepts the key-exchange groups {', '.join(groups)}")
    expires = ssl.cert_time_to_seconds(str((certificate or {})["notAfter"]))
    days_left = (expires - time.time()) / 86400
    if days_left <= EXPIRY_MARGIN_DAYS:
        problems.append(f"the certificate expires in {days_left:.0f} days (renew it)")
    if problems:
        return failed(f"{endpoint}: " + "; ".join(problems))
    return passed(
        f"{endpoint}: {version}, nothing below TLS 1.2, no weak suite or group, "
        f"certificate valid {days_left:.0f} more days"
    )


@dataclass(frozen=True)
class Fetched:
    status: int
    headers: http.client.HTTPMessage


def fetch(target: Target, path: str) -> Fetched:
    """GET ``path`` from the endpoint over verified HTTPS, naming the site's host."""
    host = target.server_name if target.port == 443 else f"{target.server_name}:{target.port}"
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    with _connect(target, verified_context(target)) as connection:
        connection.sendall(request.encode("ascii"))
        response = http.client.HTTPResponse(connection)
        response.begin()
        response.read()
        return Fetched(response.status, response.headers)


def header_problems(headers: http.client.HTTPMessage) -> list[str]:
    """Return the security headers missing or too weak in one response."""
    problems = []
    hsts = re.search(r"max-age=(\d+)", headers.get("Strict-Transport-Security", ""))
    if hsts is None or int(hsts.group(1)) < MIN_HSTS_SECONDS:
        problems.append(f"Strict-Transport-Security with max-age of at least {MIN_HSTS_SECONDS}")
    if headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append("X-Content-Type-Options: nosniff")
    csp = headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("Content-Security-Policy")
    framing = re.search(r"frame-ancestors\s+('none'|'self')", csp)
    if framing is None and headers.get("X-Frame-Options", "").upper() not in ("DENY", "SAMEORIGIN"):
        problems.append("frame-ancestors or X-Frame-Options")
    if not headers.get("Referrer-Policy"):
        problems.append("Referrer-Policy")
    server = headers.get("Server", "")
    if re.search(r"gunicorn|\d", server, flags=re.IGNORECASE):
        problems.append(f"no software banner (Server: {server})")
    return problems


def _static_path() -> str:
    try:
        return staticfiles_storage.url("css/afspraak.css")
    except ValueError:
        # No manifest (static files not collected): WhiteNoise's finders serve the plain name.
        return "/static/css/afspraak.css"


def check_security_headers(target: Target) -> Result:
    """Fail unless an HTML page, a static file and an error page all carry the security headers."""
    samples = (
        ("the home page", "/", 200),
        ("a static file", _static_path(), 200),
        ("an error page", "/.well-known/afspraak-security-audit-missing", 404),
    )
    problems = []
    for name, path, expected in samples:
        try:
            fetched = fetch(target, path)
        except (OSError, ssl.SSLError, http.client.HTTPException) as error:
            problems.append(f"{name} ({path}) could not be fetched: {error}")
            continue
        if fetched.status != expected:
            problems.append(f"{name} ({path}) answered {fetched.status}, not {expected}")
        missing = header_problems(fetched.headers)
        if missing:
            problems.append(f"{name} ({path}) lacks: {', '.join(missing)}")
    if problems:
        return failed("; ".join(problems))
    return passed("the home page, a static file and a 404 page carry every security header")

"""Security headers on the answers gunicorn writes itself, and no ``Server: gunicorn`` banner.

A request gunicorn cannot parse (a request line over its limit, a malformed header) is
answered by ``gunicorn.util.write_error`` without ever reaching Django, so none of the
middleware's headers are on it; and gunicorn names itself in a ``Server`` header on every
response. ``install`` (called by ``afspraak.server.gunicorn_config``) replaces the error
writer with one that sends the same headers as a page — HSTS, nosniff, a CSP that allows
nothing, no framing, the referrer policy — and drops the banner.
"""

import html
from typing import Any

from django.conf import settings

_HTML_ERROR = (
    '<!DOCTYPE html>\n<html lang="en"><head><title>{reason}</title></head>'
    "<body><h1>{reason}</h1><p>{message}</p></body></html>\n"
)


def hsts_value() -> str:
    """Return the Strict-Transport-Security value SecurityMiddleware sends for these settings."""
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value


def security_headers() -> list[tuple[str, str]]:
    """Return the headers every response carries, for one that no middleware touches."""
    return [
        ("Strict-Transport-Security", hsts_value()),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", settings.BARE_RESPONSE_CSP),
        ("X-Frame-Options", settings.X_FRAME_OPTIONS),
        ("Referrer-Policy", settings.SECURE_REFERRER_POLICY),
        ("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY),
    ]


def error_response(status: int, reason: str, message: str) -> bytes:
    """Return gunicorn's error answer, with the security headers and without a banner."""
    body = _HTML_ERROR.format(reason=html.escape(reason), message=html.escape(message)).encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "Connection: close",
        "Content-Type: text/html; charset=utf-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in security_headers()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


def install() -> None:
    """Patch gunicorn: its own error answers carry the headers; no response names gunicorn."""
    from gunicorn import util
    from gunicorn.http import wsgi

    def write_error(sock: Any, status_int: int, reason: str, mesg: str) -> None:
        util.write_nonblock(sock, error_response(status_int, reason, mesg))

    util.write_error = write_error

    default_headers = wsgi.Response.default_headers

    def headers_without_banner(response: Any) -> list[str]:
        return [line for line in default_headers(response) if not line.startswith("Server:")]

    wsgi.Response.default_headers = headers_without_banner

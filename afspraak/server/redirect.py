"""The plain-HTTP listener: every request gets a 301 to the same path on the https site.

It serves nothing else, so no page, cookie or header of the application ever
travels unencrypted. The redirect's host comes from the configured site URL, never
from the request's Host header, so the listener cannot be made to redirect anywhere
else (no open redirect).
"""

import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import quote, urlsplit

logger = logging.getLogger(__name__)

# RFC 3986 reserved and unreserved characters, plus "%" for escapes already present:
# anything else (spaces, control or non-ASCII characters) is percent-encoded.
_URL_SAFE = "/?#[]@!$&'()*+,;=:-._~%"

REQUEST_TIMEOUT_SECONDS = 10


def https_base_url(host: str, https_port: int) -> str:
    """Return ``https://host[:port]``, leaving out the port when it is 443."""
    authority = f"[{host}]" if ":" in host else host
    if https_port != 443:
        authority = f"{authority}:{https_port}"
    return f"https://{authority}"


def redirect_location(base_url: str, request_target: str) -> str:
    """Return the https URL for a request target: same path and query, the site's own host."""
    if not request_target.startswith("/"):
        # An absolute-form target ("http://other.example/x") keeps only its path and
        # query; "*" and other oddities go to the home page.
        parts = urlsplit(request_target)
        request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if not request_target.startswith("/"):
            request_target = "/"
    # "//evil.example" after the authority is still a path on our host, but browsers
    # and people read it more easily as one slash.
    request_target = "/" + request_target.lstrip("/")
    # http.server decodes the request line as ISO-8859-1; encoding back gives the bytes
    # the client sent, which are then percent-encoded unchanged.
    return base_url + quote(request_target.encode("iso-8859-1"), safe=_URL_SAFE)


class RedirectHandler(BaseHTTPRequestHandler):
    """Answer any method on any path with a 301 to the https site, and nothing else."""

    timeout = REQUEST_TIMEOUT_SECONDS
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(explain)s\n"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("do_"):
            return self._redirect
        raise AttributeError(name)

    def _redirect(self) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        base_url = cast("RedirectServer", self.server).base_url
        self.send_header("Location", redirect_location(base_url, self.path))
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def version_string(self) -> str:
        # No software versions for scanners to match against.
        return "afspraak"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)


class RedirectServer(ThreadingHTTPServer):
    """The redirect listener: bound when created, serving from a thread once started."""

    daemon_threads = True

    def __init__(self, host: str, port: int, base_url: str) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.base_url = base_url
        self._thread: threading.Thread | None = None
        super().__init__((host, port), RedirectHandler)

    def start(self) -> None:
        """Serve requests from a background thread."""
        # A short poll interval lets stop() return promptly.
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="https-redirect",
            daemon=True,
        )
        self._thread.start()

    def is_serving(self) -> bool:
        """Tell whether the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()

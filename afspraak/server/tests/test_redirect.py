"""The plain-HTTP listener redirects every request to the https site, and does nothing else."""

import http.client
import socket
from collections.abc import Iterator

import pytest

from afspraak.server.redirect import RedirectServer, https_base_url, redirect_location

BASE = "https://book.example.test:8443"


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("book.example.test", 8443, "https://book.example.test:8443"),
        ("book.example.test", 443, "https://book.example.test"),
        ("::1", 8443, "https://[::1]:8443"),
    ],
)
def test_the_https_base_url_names_the_port_unless_it_is_443(host, port, expected):
    assert https_base_url(host, port) == expected


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/", f"{BASE}/"),
        ("/book/abc?day=2025-01-02&x=%2F", f"{BASE}/book/abc?day=2025-01-02&x=%2F"),
        # Absolute-form targets (as sent to proxies) keep only path and query.
        ("http://evil.example/steal?x=1", f"{BASE}/steal?x=1"),
        ("https://evil.example", f"{BASE}/"),
        ("*", f"{BASE}/"),
        # A path that looks like an authority stays a path on the site's host.
        ("//evil.example/x", f"{BASE}/evil.example/x"),
        ("/\\evil.example", f"{BASE}/%5Cevil.example"),
        # Bytes that would break the header or confuse a browser are percent-encoded.
        ('/a b"<c>', f"{BASE}/a%20b%22%3Cc%3E"),
        ("/caf\xe9", f"{BASE}/caf%E9"),
    ],
)
def test_the_location_keeps_path_and_query_on_the_sites_own_host(target, location):
    assert redirect_location(BASE, target) == location


@pytest.fixture
def listener() -> Iterator[RedirectServer]:
    server = RedirectServer("127.0.0.1", 0, BASE)
    server.start()
    yield server
    server.stop()


def raw_exchange(port: int, request: bytes) -> bytes:
    """Send raw bytes to the listener and return everything it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "BREW"])
def test_any_method_gets_a_301_to_https_whatever_the_host_header(listener, method):
    connection = http.client.HTTPConnection("127.0.0.1", listener.server_port, timeout=5)
    connection.putrequest(method, "/login?next=/admin/", skip_host=True)
    connection.putheader("Host", "evil.example")
    connection.putheader("X-Forwarded-Host", "evil.example")
    connection.putheader("Content-Length", "0")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert response.status == 301
    assert response.getheader("Location") == f"{BASE}/login?next=/admin/"
    assert body == b""
    assert response.getheader("Server") == "afspraak"


def test_an_absolute_form_request_cannot_choose_the_redirect_host(listener):
    answer = raw_exchange(
        listener.server_port, b"GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n"
    )

    assert answer.startswith(b"HTTP/1.0 301 ")
    assert f"\r\nLocation: {BASE}/x\r\n".encode() in answer


def test_a_malformed_request_gets_a_400_and_no_redirect(listener):
    answer = raw_exchange(listener.server_port, b"GET / HTTP/1.1 extra\r\n\r\n")

    # http.server cannot tell the HTTP version of a garbled request line, so it answers
    # the way HTTP/0.9 would: the body alone.
    assert answer == b"400 Bad request syntax or unsupported method\n"


def test_stopping_closes_the_port():
    server = RedirectServer("127.0.0.1", 0, BASE)
    port = server.server_port
    server.start()
    assert server.is_serving()

    server.stop()

    assert not server.is_serving()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()

"""Answers that leave without Django's middleware carry the security headers, and no banner.

Against a real ``afspraak serve``: gunicorn's own 414 for a request line over its limit,
a static file served by WhiteNoise, and a page (for the missing ``Server`` banner).
"""

import http.client
import re

from afspraak.server.tests.serving import ServeProcess, client_context, handshake


def exchange(served: ServeProcess, request: bytes) -> http.client.HTTPResponse:
    """Send raw bytes over verified TLS and return the parsed answer (body read)."""
    with handshake(client_context(served.ca_file), served.https_port) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        response.read()
        return response


def assert_security_headers(response: http.client.HTTPResponse) -> None:
    hsts = response.headers["Strict-Transport-Security"]
    assert re.fullmatch(r"max-age=\d{8,}; includeSubDomains(; preload)?", hsts), hsts
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Server"] is None


def test_gunicorns_own_414_carries_the_security_headers_and_no_banner(served):
    request_line = b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\n"

    response = exchange(served, request_line + b"Host: localhost\r\n\r\n")

    assert response.status == 414
    assert_security_headers(response)
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_gunicorns_own_400_carries_the_security_headers(served):
    response = exchange(served, b"NOT A REQUEST\r\n\r\n")

    assert response.status == 400
    assert_security_headers(response)


def test_a_static_file_carries_the_security_headers_and_no_banner(served):
    response = exchange(
        served,
        b"GET /static/css/afspraak.css HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert_security_headers(response)


def test_a_page_names_no_server_software(served):
    response = exchange(
        served, b"GET /accounts/login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )

    assert response.status == 200
    assert response.headers["Server"] is None
    assert_security_headers(response)

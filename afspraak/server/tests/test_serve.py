"""A real ``afspraak serve``: TLS 1.2+ only, Mozilla "intermediate", HTTP only redirects (D1)."""

import http.client
import os
import socket
import ssl
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import pytest

from afspraak.server.tests.serving import ServeProcess, client_context, handshake
from afspraak.server.tls import TLS12_CIPHERS

SSLYZE = Path(__file__).resolve().parents[3] / ".venv-sslyze" / "bin" / "python"


def legacy_client_context(version: ssl.TLSVersion, ca_file: Path) -> ssl.SSLContext:
    """Return a client that speaks only ``version``, with OpenSSL's own limits lowered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(ca_file))
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1, which is the point of this client.
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = version
        context.maximum_version = version
    # Security level 0 lets this OpenSSL offer TLS 1.0/1.1 at all, so a refusal can only
    # come from the server.
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1])
def test_tls_1_0_and_1_1_are_refused_by_the_server(served: ServeProcess, version):
    context = legacy_client_context(version, served.ca_file)

    with pytest.raises(ssl.SSLError) as refusal:
        handshake(context, served.https_port).close()

    # An alert the server sent, not a client that could not offer the version.
    assert refusal.value.reason == "TLSV1_ALERT_PROTOCOL_VERSION"


def test_the_legacy_client_does_speak_tls_1_0_to_a_server_that_allows_it(serve_var_dir: Path):
    # The control for the test above: the same client gets through where TLS 1.0 is allowed.
    tls_dir = serve_var_dir / "tls"
    permissive = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        permissive.minimum_version = ssl.TLSVersion.TLSv1
    permissive.set_ciphers("ALL:@SECLEVEL=0")
    permissive.load_cert_chain(tls_dir / "server.pem", tls_dir / "server-key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept_one() -> None:
        connection, _ = listener.accept()
        try:
            with permissive.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            connection.close()

    acceptor = threading.Thread(target=accept_one, daemon=True)
    acceptor.start()
    try:
        context = legacy_client_context(ssl.TLSVersion.TLSv1, tls_dir / "ca.pem")
        with handshake(context, port) as connection:
            assert connection.version() == "TLSv1"
    finally:
        acceptor.join(timeout=10)
        listener.close()


@pytest.mark.parametrize(
    ("version", "name"), [(ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")]
)
def test_tls_1_2_and_1_3_connect_with_the_chain_verified_against_the_local_ca(
    served: ServeProcess, version, name
):
    with handshake(client_context(served.ca_file, version), served.https_port) as connection:
        assert connection.version() == name
        cipher = connection.cipher()
        assert cipher is not None
        if version == ssl.TLSVersion.TLSv1_2:
            assert cipher[0] in TLS12_CIPHERS


def test_an_unknown_ca_fails_verification(served: ServeProcess):
    context = ssl.create_default_context()

    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(context, served.https_port).close()


@pytest.mark.parametrize(
    "cipher",
    [
        "ECDHE-ECDSA-AES128-SHA",  # forward secret, but CBC with SHA-1
        "ECDHE-ECDSA-AES256-SHA384",  # forward secret, but CBC
        "AES128-GCM-SHA256",  # AEAD, but static RSA key exchange
    ],
)
def test_tls_1_2_refuses_suites_outside_the_intermediate_profile(served: ServeProcess, cipher):
    context = client_context(served.ca_file, ssl.TLSVersion.TLSv1_2)
    context.set_ciphers(cipher)

    with pytest.raises(ssl.SSLError) as refusal:
        handshake(context, served.https_port).close()

    assert refusal.value.reason == "SSLV3_ALERT_HANDSHAKE_FAILURE"


GROUP_CLIENT = """
import socket, ssl, sys
context = ssl.create_default_context(cafile=sys.argv[2])
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            print("connected", tls.version())
except ssl.SSLError as error:
    print("refused", error.reason)
"""


@pytest.mark.parametrize(
    ("group", "outcome"),
    [
        ("X448", "refused SSLV3_ALERT_HANDSHAKE_FAILURE"),
        ("secp521r1", "refused SSLV3_ALERT_HANDSHAKE_FAILURE"),
        ("X25519", "connected TLSv1.3"),
        ("prime256v1", "connected TLSv1.3"),
        ("secp384r1", "connected TLSv1.3"),
    ],
)
def test_only_the_intermediate_key_exchange_groups_are_accepted(
    served: ServeProcess, tmp_path: Path, group, outcome
):
    # Python cannot choose a client's groups either; an OpenSSL configuration can.
    config = tmp_path / "client.cnf"
    config.write_text(
        "openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = tls\n"
        f"[tls]\nGroups = {group}\n"
    )
    env = dict(os.environ, OPENSSL_CONF=str(config))

    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-c", GROUP_CLIENT, str(served.https_port), str(served.ca_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert result.stdout.strip() == outcome


def test_sslyze_finds_the_server_compliant_with_mozilla_intermediate(served: ServeProcess):
    assert SSLYZE.exists(), "sslyze is missing: run `make .venv-sslyze/.installed`"
    result = subprocess.run(  # noqa: S603 (the project's sslyze, fixed arguments)
        [
            str(SSLYZE),
            "-m",
            "sslyze",
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={served.ca_file}",
            f"127.0.0.1:{served.https_port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    report = result.stdout
    assert result.returncode == 0, report + result.stderr
    assert f"127.0.0.1:{served.https_port}: OK - Compliant." in report
    assert "Supplied CA file CA Store (N/A):   OK - Certificate is trusted" in report


HOSTILE_HOST = "evil.example"


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_plain_http_gets_only_a_redirect_to_the_https_site(served: ServeProcess, method):
    connection = http.client.HTTPConnection("127.0.0.1", served.http_port, timeout=10)
    try:
        connection.putrequest(method, "/accounts/login/?next=%2Fadmin%2F", skip_host=True)
        connection.putheader("Host", HOSTILE_HOST)
        connection.putheader("Content-Length", "0")
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 301
    assert response.getheader("Location") == (
        f"https://localhost:{served.https_port}/accounts/login/?next=%2Fadmin%2F"
    )
    assert body == b""
    assert response.getheader("Set-Cookie") is None
    assert response.getheader("Content-Security-Policy") is None  # no app response at all


def https_get(served: ServeProcess, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    """Send a GET over verified TLS and return the read response."""
    connection = http.client.HTTPSConnection(
        "localhost", served.https_port, context=client_context(served.ca_file), timeout=30
    )
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def test_responses_over_tls_carry_the_security_headers(served: ServeProcess):
    response = https_get(served, "/", {})

    assert response.status == 200
    assert response.getheader("Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert "frame-ancestors 'none'" in response.getheader("Content-Security-Policy", "")
    assert response.getheader("X-Frame-Options") == "DENY"
    assert response.getheader("X-Content-Type-Options") == "nosniff"


def test_a_local_peer_cannot_downgrade_the_scheme_with_forwarded_headers(served: ServeProcess):
    # gunicorn trusts X-Forwarded-Proto from 127.0.0.1 unless told otherwise; had it done
    # so here, Django would see plain http and answer with its HTTPS redirect.
    response = https_get(
        served,
        "/",
        {"X-Forwarded-Proto": "http", "X-Forwarded-Ssl": "off", "X-Forwarded-Protocol": "tcp"},
    )

    assert response.status == 200


def post_headers_only(served: ServeProcess, headers: dict[str, str], body: bytes = b""):
    """Send a report form's POST head (and ``body`` as sent), and return the read response."""
    connection = http.client.HTTPSConnection(
        "localhost", served.https_port, context=client_context(served.ca_file), timeout=20
    )
    try:
        connection.putrequest("POST", "/disclosure/report/")
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body or None)
        response = connection.getresponse()
        return response, response.read().decode()
    finally:
        connection.close()


def test_an_oversized_report_is_answered_413_before_its_body_is_sent(served: ServeProcess):
    # Only the head goes out: had gunicorn or Django waited for the 4 MB body, the read
    # of the answer would time out.
    response, page = post_headers_only(served, {"Content-Length": str(4 * 1024 * 1024)})

    assert response.status == 413
    assert "The report is too large" in page


def test_a_chunked_report_is_answered_411(served: ServeProcess):
    chunk = b"x" * 1000
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(5)) + b"0\r\n\r\n"

    response, page = post_headers_only(served, {"Transfer-Encoding": "chunked"}, body)

    assert response.status == 411
    assert "without its length" in page

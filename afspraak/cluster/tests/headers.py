"""Checks that HAProxy terminates TLS like `afspraak serve` and every response has the headers."""

import socket
import ssl
import subprocess
from pathlib import Path

import requests

from afspraak.cluster.tests.clients import through_haproxy
from afspraak.server import tls

SSLYZE = Path(__file__).resolve().parents[3] / ".venv-sslyze" / "bin" / "python"


def check_app_pages_carry_the_security_headers_and_no_server_banner(cluster):
    answer = through_haproxy(cluster).get(f"{cluster.url}/", timeout=30)

    assert answer.status_code == 200
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in answer.headers


def check_static_files_carry_the_security_headers_and_a_policy(cluster):
    answer = through_haproxy(cluster).get(f"{cluster.url}/static/css/afspraak.css", timeout=30)

    assert answer.status_code == 200
    assert "Strict-Transport-Security" in answer.headers
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "Server" not in answer.headers


def check_haproxys_own_503_carries_the_security_headers(cluster):
    for node in cluster.nodes.nodes:
        cluster.proxy.set_state(node.name, "maint")
    try:
        answer = through_haproxy(cluster).get(f"{cluster.url}/", timeout=30)
    finally:
        for node in cluster.nodes.nodes:
            cluster.proxy.set_state(node.name, "ready")
            cluster.proxy.wait_until_up(node.name, timeout=30)

    # No node in service: the documented retryable answer.
    assert answer.status_code == 503
    assert answer.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]
    assert "Server" not in answer.headers


def check_plain_http_is_redirected_to_the_site(cluster):
    answer = requests.get(
        f"http://127.0.0.1:{cluster.proxy.http_port}/demo/?x=1",
        allow_redirects=False,
        timeout=30,
    )

    assert answer.status_code == 301
    assert answer.headers["Location"] == f"{cluster.url}/demo/?x=1"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "Server" not in answer.headers


def check_sslyze_finds_haproxy_compliant_with_mozilla_intermediate(cluster):
    assert SSLYZE.exists(), "sslyze is missing: run `make .venv-sslyze/.installed`"
    result = subprocess.run(  # noqa: S603 (the project's sslyze, fixed arguments)
        [
            str(SSLYZE),
            "-m",
            "sslyze",
            "--mozilla_config=intermediate",
            f"--certinfo_ca_file={cluster.ca_file}",
            f"127.0.0.1:{cluster.proxy.https_port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    report = result.stdout
    assert result.returncode == 0, report + result.stderr
    assert f"127.0.0.1:{cluster.proxy.https_port}: OK - Compliant." in report


def check_tls_1_2_offers_only_the_policys_suites(cluster):
    context = ssl.create_default_context(cafile=str(cluster.ca_file))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with (
        socket.create_connection(("127.0.0.1", cluster.proxy.https_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        negotiated = conn.cipher()

    assert negotiated is not None
    name, version, _ = negotiated
    assert version == "TLSv1.2"
    assert name in tls.TLS12_CIPHERS

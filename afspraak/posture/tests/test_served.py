"""The network checks against a real ``afspraak serve``, and against a server missing headers."""

import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from afspraak.posture.registry import CHECKS
from afspraak.posture.results import Status
from afspraak.posture.tests.tls_servers import TinyServer, make_certificates, server_context
from afspraak.posture.transport import check_security_headers, check_tls

BARE_ANSWER = (
    b"HTTP/1.1 200 OK\r\nServer: gunicorn/23.0\r\nContent-Type: text/html\r\n"
    b"Content-Length: 2\r\nConnection: close\r\n\r\nok"
)


def test_a_server_without_security_headers_fails_on_each_sample(tmp_path):
    certificates = make_certificates(tmp_path, days=90)
    server = TinyServer(server_context(certificates), BARE_ANSWER)
    try:
        result = check_security_headers(server.target(certificates.ca_file))
    finally:
        server.close()

    assert result.status is Status.FAIL
    for sample in ("the home page", "a static file", "an error page"):
        assert f"{sample} (" in result.detail
    for missing in (
        "Strict-Transport-Security",
        "X-Content-Type-Options: nosniff",
        "Content-Security-Policy",
        "frame-ancestors or X-Frame-Options",
        "Referrer-Policy",
        "no software banner (Server: gunicorn/23.0)",
    ):
        assert missing in result.detail
    # The 404 sample answered 200: a catch-all page is no error page.
    assert "answered 200, not 404" in result.detail


def test_the_served_instance_passes_the_network_checks_and_the_command_reports_json(
    served, served_target
):
    # One test, so that one served instance (one `afspraak setup`) serves it under xdist.
    tls, headers = check_tls(served_target), check_security_headers(served_target)
    assert tls.status is Status.PASS, tls.detail
    assert headers.status is Status.PASS, headers.detail

    env = {name: value for name, value in os.environ.items() if not name.startswith("AFSPRAAK_")}
    env |= {
        "DJANGO_SETTINGS_MODULE": "afspraak.settings",
        "AFSPRAAK_VAR_DIR": str(served.ca_file.parent.parent),
        "AFSPRAAK_SITE_URL": f"https://localhost:{served.https_port}",
        # Nothing may listen beyond loopback: whatever this machine has open fails the check.
        "AFSPRAAK_AUDIT_ALLOWED_PORTS": "1",
    }
    command = [sys.executable, "-m", "afspraak.cli", "security-audit", "--json"]
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )

    report = json.loads(result.stdout)
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    assert list(statuses) == [check.name for check in CHECKS]
    assert statuses["tls"] == "pass"
    assert statuses["security-headers"] == "pass"
    assert statuses["debug-off"] == "pass"
    assert report["endpoint"] == f"localhost:{served.https_port}"
    assert report["passed"] is (not any(s == "fail" for s in statuses.values()))
    assert result.returncode == (0 if report["passed"] else 1)


@pytest.mark.parametrize("endpoint", ["nonsense", "host:99999", ":443"])
def test_the_command_refuses_a_malformed_endpoint(endpoint):
    with pytest.raises(CommandError, match=f"endpoint must be HOST:PORT, not '{endpoint}'"):
        call_command("security-audit", "--endpoint", endpoint)

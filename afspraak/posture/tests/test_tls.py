"""The TLS check: it fails on old protocol versions, weak suites, a near expiry, an unknown CA."""

import re
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from afspraak.posture import transport
from afspraak.posture.results import Status
from afspraak.posture.tests.tls_servers import (
    OpenSslServer,
    TinyServer,
    allow_old_versions,
    make_certificates,
    server_context,
)
from afspraak.posture.transport import check_tls


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    servers: list[TinyServer] = []

    def start(context: ssl.SSLContext) -> TinyServer:
        servers.append(TinyServer(context))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_afspraaks_tls_policy_with_a_long_valid_certificate_passes(serve, tmp_path):
    certificates = make_certificates(tmp_path, days=90)
    server = serve(server_context(certificates))

    result = check_tls(server.target(certificates.ca_file))

    assert result.status is Status.PASS, result.detail
    assert re.search(r"certificate valid (89|90) more days", result.detail), result.detail


def test_a_server_accepting_tls_1_0_or_1_1_fails(serve, tmp_path):
    certificates = make_certificates(tmp_path, days=90)
    server = serve(allow_old_versions(server_context(certificates, hardened=False)))

    result = check_tls(server.target(certificates.ca_file))

    assert result.status is Status.FAIL
    assert "accepts TLSv1.1" in result.detail


def test_a_server_accepting_a_cbc_suite_on_tls_1_2_fails(serve, tmp_path):
    certificates = make_certificates(tmp_path, days=90)
    context = server_context(certificates, hardened=False)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES128-GCM-SHA256")
    server = serve(context)

    result = check_tls(server.target(certificates.ca_file))

    assert result.status is Status.FAIL
    assert "accepts the weak suite TLSv1.2 ECDHE-ECDSA-AES128-SHA" in result.detail
    assert "below TLS 1.2" not in result.detail


def test_a_server_accepting_a_group_outside_mozillas_intermediate_profile_fails(tmp_path):
    certificates = make_certificates(tmp_path, days=90)
    server = OpenSslServer(certificates, groups="X25519:X448:ffdhe2048")
    try:
        result = check_tls(server.target(certificates.ca_file))
    finally:
        server.close()

    assert result.status is Status.FAIL
    assert "accepts the key-exchange groups X448, ffdhe2048" in result.detail, result.detail


def test_without_the_openssl_command_the_groups_are_unchecked_and_the_check_fails(
    serve, tmp_path, monkeypatch
):
    certificates = make_certificates(tmp_path, days=90)
    server = serve(server_context(certificates))
    monkeypatch.setattr(transport.shutil, "which", lambda name: None)

    result = check_tls(server.target(certificates.ca_file))

    assert result.status is Status.FAIL
    assert "cannot check the key-exchange groups: the openssl command is missing" in (result.detail)


def test_a_certificate_expiring_within_14_days_fails(serve, tmp_path):
    certificates = make_certificates(tmp_path, days=10)
    server = serve(server_context(certificates))

    result = check_tls(server.target(certificates.ca_file))

    assert result.status is Status.FAIL
    assert "the certificate expires in 10 days" in result.detail


def test_a_certificate_from_an_unknown_authority_fails(serve, tmp_path):
    certificates = make_certificates(tmp_path / "served", days=90)
    stranger = make_certificates(tmp_path / "other", days=90)
    server = serve(server_context(certificates))

    result = check_tls(server.target(stranger.ca_file))

    assert result.status is Status.FAIL
    assert "the certificate is not trusted" in result.detail


def test_nothing_listening_fails(tmp_path):
    certificates = make_certificates(tmp_path, days=90)
    server = TinyServer(server_context(certificates))
    server.close()

    result = check_tls(server.target(certificates.ca_file))

    assert result.status is Status.FAIL
    assert "no TLS handshake" in result.detail

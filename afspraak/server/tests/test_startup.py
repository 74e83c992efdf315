"""The startup checks of ``afspraak serve`` refuse every unsafe start with a clear message."""

import socket
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from afspraak.crypto.keyring import create_master_keyset
from afspraak.crypto.keysets import clear_key_caches
from afspraak.server.certificates import ensure_local_certificates, local_tls_files
from afspraak.server.startup import (
    StartupError,
    check_can_listen,
    check_master_keyset,
    check_openssl_config,
    check_port,
    check_tls_files,
    site_host,
)


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tls")
    ensure_local_certificates(directory)
    return directory


def test_a_matching_certificate_and_key_pass(tls_dir: Path):
    files = local_tls_files(tls_dir)

    check_tls_files(files.server_cert, files.server_key)


def test_a_missing_certificate_is_refused(tls_dir: Path, tmp_path: Path):
    missing = tmp_path / "server.pem"

    with pytest.raises(StartupError) as refusal:
        check_tls_files(missing, local_tls_files(tls_dir).server_key)

    assert str(refusal.value) == (
        f"TLS certificate {missing} is missing: run `afspraak setup` "
        "or point AFSPRAAK_TLS_CERT (or --cert) at it"
    )


def test_a_key_that_cannot_be_read_is_refused(tls_dir: Path, tmp_path: Path):
    with pytest.raises(StartupError) as refusal:
        check_tls_files(local_tls_files(tls_dir).server_cert, tmp_path)

    assert str(refusal.value) == f"TLS private key {tmp_path} cannot be read: Is a directory"


def test_a_key_of_another_certificate_is_refused(tls_dir: Path):
    files = local_tls_files(tls_dir)

    with pytest.raises(StartupError, match="matching unencrypted private key"):
        check_tls_files(files.server_cert, files.ca_key)


def test_an_encrypted_key_is_refused_without_prompting_for_a_password(
    tls_dir: Path, tmp_path: Path
):
    encrypted = tmp_path / "encrypted-key.pem"
    encrypted.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"a passphrase nobody types"),
        )
    )

    with pytest.raises(StartupError, match="matching unencrypted private key"):
        check_tls_files(local_tls_files(tls_dir).server_cert, encrypted)


@pytest.fixture
def keyset_setting(settings, tmp_path: Path):
    """Point the keyring at a keyset file of this test's own, forgetting cached keyrings."""
    keyset = tmp_path / "master.json"
    settings.AFSPRAAK_MASTER_KEYSET_FILE = keyset
    settings.AFSPRAAK_MASTER_KEY_URI = ""
    clear_key_caches()
    yield keyset
    clear_key_caches()


def test_a_master_keyset_readable_by_others_is_refused(keyset_setting: Path):
    create_master_keyset(keyset_setting)
    check_master_keyset()
    keyset_setting.chmod(0o604)

    with pytest.raises(StartupError, match=r"accessible by group or others \(mode 0604\)"):
        check_master_keyset()


def test_a_missing_master_keyset_is_refused(keyset_setting: Path):
    with pytest.raises(StartupError, match="is missing: restore it from your key backup"):
        check_master_keyset()


def test_the_shipped_openssl_configuration_is_found_and_a_missing_one_refused(tmp_path: Path):
    check_openssl_config(settings.AFSPRAAK_OPENSSL_CONF)

    with pytest.raises(StartupError, match="restricts the TLS key-exchange groups"):
        check_openssl_config(tmp_path / "openssl-afspraak.cnf")


def test_a_port_in_use_is_refused():
    with socket.create_server(("127.0.0.1", 0)) as occupant:
        port = occupant.getsockname()[1]

        with pytest.raises(StartupError) as refusal:
            check_can_listen("127.0.0.1", port)

    assert str(refusal.value) == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    check_can_listen("127.0.0.1", port)


@pytest.mark.parametrize(
    ("option", "port", "allow_zero", "refused"),
    [
        ("--port", 0, False, True),
        ("--port", 65536, False, True),
        ("--port", 443, False, False),
        ("--http-port", 0, True, False),
        ("--http-port", -1, True, True),
    ],
)
def test_port_numbers_outside_the_tcp_range_are_refused(option, port, allow_zero, refused):
    if refused:
        with pytest.raises(StartupError, match=f"^{option} must be between"):
            check_port(option, port, allow_zero=allow_zero)
    else:
        check_port(option, port, allow_zero=allow_zero)


@pytest.mark.parametrize(
    "site_url", ["http://example.test", "example.test", "https://", "ftp://example.test"]
)
def test_a_site_url_that_is_not_an_https_url_is_refused(site_url):
    with pytest.raises(StartupError, match="AFSPRAAK_SITE_URL must be an https:// URL"):
        site_host(site_url)


def test_the_site_host_comes_from_the_site_url():
    assert site_host("https://Book.Example.test:8443/path") == "book.example.test"
    assert site_host("https://[::1]:8443") == "::1"

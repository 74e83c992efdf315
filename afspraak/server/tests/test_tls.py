"""The TLS policy gunicorn gets through its ssl_context hook: TLS 1.2+, forward-secret AEAD only."""

import os
import ssl
from pathlib import Path
from types import SimpleNamespace

import pytest

from afspraak.server.certificates import ensure_local_certificates, local_tls_files
from afspraak.server.tls import TLS12_CIPHERS, gunicorn_ssl_context

MOZILLA_INTERMEDIATE_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256",
    "DHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-CHACHA20-POLY1305",
}


@pytest.fixture
def conf(tmp_path: Path) -> SimpleNamespace:
    ensure_local_certificates(tmp_path)
    files = local_tls_files(tmp_path)
    return SimpleNamespace(certfile=str(files.server_cert), keyfile=str(files.server_key))


def gunicorn_default_factory(conf: SimpleNamespace):
    """Mimic gunicorn's default factory (gunicorn.sock.ssl_context) for these settings."""

    def factory() -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile=conf.certfile, keyfile=conf.keyfile)
        return context

    return factory


def test_the_context_refuses_anything_older_than_tls_1_2(conf):
    context = gunicorn_ssl_context(conf, gunicorn_default_factory(conf))

    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert context.maximum_version == ssl.TLSVersion.MAXIMUM_SUPPORTED
    assert context.security_level >= 2


def test_tls_1_2_suites_are_the_forward_secret_aead_ones_of_mozilla_intermediate(conf):
    context = gunicorn_ssl_context(conf, gunicorn_default_factory(conf))

    tls12 = {cipher["name"] for cipher in context.get_ciphers() if cipher["protocol"] == "TLSv1.2"}
    assert tls12 == set(TLS12_CIPHERS)
    assert tls12 <= MOZILLA_INTERMEDIATE_TLS12
    assert all(name.startswith("ECDHE-") for name in tls12)


def test_tickets_renegotiation_and_compression_are_off(conf):
    context = gunicorn_ssl_context(conf, gunicorn_default_factory(conf))

    assert context.options & ssl.OP_NO_TICKET
    assert context.options & ssl.OP_NO_RENEGOTIATION
    assert context.options & ssl.OP_NO_COMPRESSION
    assert not context.options & ssl.OP_CIPHER_SERVER_PREFERENCE


def test_a_worker_reuses_its_context_until_the_certificate_changes(conf):
    first = gunicorn_ssl_context(conf, gunicorn_default_factory(conf))
    again = gunicorn_ssl_context(conf, gunicorn_default_factory(conf))
    stat = os.stat(conf.certfile)
    os.utime(conf.certfile, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    renewed = gunicorn_ssl_context(conf, gunicorn_default_factory(conf))

    assert again is first
    assert renewed is not first
    assert renewed.minimum_version == ssl.TLSVersion.TLSv1_2

"""Tiny TLS servers on 127.0.0.1 for the posture tests: each one configured a chosen way."""

import datetime
import socket
import ssl
import subprocess
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from afspraak.posture.results import Target
from afspraak.posture.tests.namespaces import die_with_parent
from afspraak.server.tls import harden_server_context


@dataclass(frozen=True)
class Certificates:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_certificates(directory: Path, *, days: int) -> Certificates:
    """Write a CA and a localhost certificate it signs, valid ``days`` from now."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Posture test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = Certificates(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    files.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    files.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def server_context(certificates: Certificates, *, hardened: bool = True) -> ssl.SSLContext:
    """Return a server context: Afspraak's policy, or an unhardened default to loosen further."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    if not hardened:
        return context
    # The served process takes its groups from an OpenSSL configuration read when it starts
    # (deploy/openssl-afspraak.cnf), which cannot be loaded into this test process: one of
    # the policy's groups stands for them.
    context.set_ecdh_curve("prime256v1")
    return harden_server_context(context)


def allow_old_versions(context: ssl.SSLContext) -> ssl.SSLContext:
    """Let ``context`` speak TLS 1.0 and 1.1 (the misconfiguration the audit must see)."""
    context.set_ciphers("ALL:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    return context


class TinyServer:
    """Accept TLS connections on a free port of 127.0.0.1; answer each request with ``response``.

    Its thread is a daemon, so it ends with the test process whatever happens.
    """

    def __init__(self, context: ssl.SSLContext, response: bytes = b"") -> None:
        self.context = context
        self.response = response
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            with raw:
                raw.settimeout(5)
                try:
                    with self.context.wrap_socket(raw, server_side=True) as connection:
                        self._answer(connection)
                except (ssl.SSLError, OSError):
                    continue

    def _answer(self, connection: ssl.SSLSocket) -> None:
        received = b""
        while self.response and b"\r\n\r\n" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                return
            received += chunk
        if self.response:
            connection.sendall(self.response)

    def target(self, ca_file: Path, *, production: bool = False) -> Target:
        return Target("127.0.0.1", self.port, "localhost", str(ca_file), production)

    def close(self) -> None:
        # shutdown wakes the thread blocked in accept(); close alone would not.
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=5)


class OpenSslServer:
    """``openssl s_server`` on a free port of 127.0.0.1, with only the key-exchange ``groups``.

    Python's ssl module cannot choose a server's groups; the openssl command can. The
    server dies with the test process.
    """

    def __init__(self, certificates: Certificates, groups: str) -> None:
        with socket.create_server(("127.0.0.1", 0)) as probe:
            self.port = probe.getsockname()[1]
        command = ["openssl", "s_server", "-accept", f"127.0.0.1:{self.port}", "-quiet"]
        command += ["-cert", str(certificates.cert_file), "-key", str(certificates.key_file)]
        self.process = subprocess.Popen(  # noqa: S603 (a fixed program, test arguments)
            [*command, "-groups", groups],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,  # only a prctl call between fork and exec
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.close()
                    raise
                time.sleep(0.05)

    def target(self, ca_file: Path) -> Target:
        return Target("127.0.0.1", self.port, "localhost", str(ca_file), False)

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

"""Real servers for the pgBackRest tests: SeaweedFS S3 over TLS and an archiving PostgreSQL 15.

Both listen on 127.0.0.1 only, on free ports, with their data in temporary directories;
both are stopped by the session fixture's finalizer, and, should pytest die without it,
by a watchdog holding a pipe that closes with pytest (SeaweedFS ignores SIGTERM for ~20 s,
so it is killed with SIGKILL, its whole process group).
The PostgreSQL cluster is the shared harness's (``afspraak.testing.postgres``), with WAL
archiving through pgBackRest and peer sign-in for the ``postgres`` system user over the
socket, as pgBackRest needs (Debian's default); its ``afspraak`` database is migrated.

The retention proof needs days to pass: ``start_days_ahead_setup`` runs PostgreSQL and
pgBackRest under libfaketime, both reading one clock file the test moves (pgBackRest
takes a backup's timestamps from the database server's clock and its expiry's "now" from
its own, so both must move), and ``afspraak`` under time-machine by the same offset
(``on_setup_clock``). Its second repository is a directory: an S3 store refuses requests
signed days away from its own clock, and SeaweedFS (Go) ignores libfaketime.
"""

import configparser
import contextlib
import json
import os
import pwd
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import urllib3
from botocore.config import Config

from afspraak.testing.postgres import SYSTEM_USER, PostgresCoordinates, ThrowAwayServer

ROOT = Path(__file__).resolve().parents[3]
WEED = ROOT / ".venv-seaweedfs" / "bin" / "weed"
DEPLOYED_CONFIG = ROOT / "deploy" / "pgbackrest" / "pgbackrest.conf"
STANZA = "afspraak"
BUCKET = "afspraak-backups"
LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
# How often a faked process rereads the clock file: a test waits this long after moving it.
CLOCK_REREAD_SECONDS = 1

_WATCHDOG = """
import os, shutil, signal, sys
sys.stdin.buffer.read()
try:
    os.killpg(int(sys.argv[1]), signal.SIGKILL)
except OSError:
    pass
shutil.rmtree(sys.argv[2], ignore_errors=True)
for leftover in sys.argv[3:]:
    try:
        os.unlink(leftover)
    except OSError:
        pass
"""


def _free_ports(count: int) -> list[int]:
    probes = []
    for _ in range(count):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        probes.append(probe)
    ports = [int(probe.getsockname()[1]) for probe in probes]
    for probe in probes:
        probe.close()
    return ports


def _for_server_user(path: Path) -> Path:
    if os.geteuid() == 0:
        account = pwd.getpwnam(SYSTEM_USER)
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def as_server_user() -> list[str]:
    """Return the prefix that runs a command as PostgreSQL's system user."""
    return ["runuser", "-u", SYSTEM_USER, "--"] if os.geteuid() == 0 else []


class _Watched:
    """A process group that dies with this process: by stop(), or by its watchdog."""

    def __init__(
        self, process: subprocess.Popen[bytes], directory: Path, leftovers: list[Path]
    ) -> None:
        self.process = process
        self.directory = directory
        self.watchdog = subprocess.Popen(  # noqa: S603 - this interpreter, our script
            [sys.executable, "-c", _WATCHDOG, str(process.pid), str(directory)]
            + [str(path) for path in leftovers],
            stdin=subprocess.PIPE,
            start_new_session=True,
        )

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        if self.watchdog.stdin is not None:
            self.watchdog.stdin.close()
        self.watchdog.wait(timeout=30)


@dataclass(frozen=True)
class SeaweedS3:
    """Where the S3 store listens and the keys it accepts."""

    host: str
    port: int
    access_key: str
    secret_key: str

    def client(self) -> Any:
        """Return a boto3 S3 client for the store (its certificate is self-signed)."""
        return boto3.client(
            "s3",
            endpoint_url=f"https://{self.host}:{self.port}",
            region_name="us-east-1",
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            verify=False,
            config=Config(s3={"addressing_style": "path"}),
        )


def faked_clock_environment(clock: Path) -> dict[str, str]:
    """Return the environment that runs a process (and its children) on the clock file's time."""
    return {
        "LD_PRELOAD": str(LIBFAKETIME),
        "FAKETIME_TIMESTAMP_FILE": str(clock),
        "FAKETIME_CACHE_DURATION": str(CLOCK_REREAD_SECONDS),
        # Timeouts and waits keep real time; only the calendar moves.
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }


@dataclass
class PgBackRestSetup:
    """The servers and files of the pgBackRest tests."""

    postgres: PostgresCoordinates
    s3: SeaweedS3 | None
    config: Path
    base: Path
    bin_dir: Path
    # The libfaketime clock file every process of the setup reads (None: real time).
    clock: Path | None = None

    def environment(self, master_keyset: Path, var_dir: Path) -> dict[str, str]:
        """Return the environment of an ``afspraak`` subprocess on this PostgreSQL."""
        return {
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "DJANGO_SETTINGS_MODULE": "afspraak.settings",
            "AFSPRAAK_VAR_DIR": str(var_dir),
            "AFSPRAAK_MASTER_KEYSET_FILE": str(master_keyset),
            "AFSPRAAK_PGBACKREST_CONFIG_PATH": str(self.base),
            "AFSPRAAK_PGBACKREST_STANZA": STANZA,
            "AFSPRAAK_PG_BIN_DIR": str(self.bin_dir),
            **self.postgres.environ(),
        } | (
            {"PATH": f"{self.base / 'faked-bin'}:/usr/bin:/bin:/usr/sbin:/sbin"}
            if self.clock
            else {}
        )

    def python(self, *arguments: str) -> list[str]:
        """Return the command running Python with ``arguments`` at this setup's time."""
        if self.clock is None:
            return [sys.executable, *arguments]
        return [sys.executable, "-m", f"{__package__}.on_setup_clock", str(self.clock), *arguments]

    def move_clock(self, moment: datetime) -> None:
        """Set the setup's faked clock to read ``moment`` now (and run on from there)."""
        assert self.clock is not None, "this setup runs on real time"
        offset = moment - datetime.now(UTC)
        self.clock.write_text(f"{offset.total_seconds():+.0f}\n", encoding="utf-8")
        # Every faked process (the database server's too) rereads the file by then.
        time.sleep(CLOCK_REREAD_SECONDS + 0.2)

    def pgbackrest(self, *arguments: str) -> str:
        """Run pgBackRest on the stanza as the server's user; return its output."""
        result = subprocess.run(  # noqa: S603 - fixed tool
            [
                *as_server_user(),
                *(
                    ["env", *(f"{k}={v}" for k, v in faked_clock_environment(self.clock).items())]
                    if self.clock
                    else []
                ),
                "pgbackrest",
                f"--config-path={self.base}",
                f"--stanza={STANZA}",
                *arguments,
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            timeout=600,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


def start_seaweedfs() -> tuple[SeaweedS3, _Watched]:
    """Start ``weed server`` with S3 over TLS (self-signed) and access keys; make the bucket."""
    directory = Path(tempfile.mkdtemp(prefix="afspraak-seaweedfs-"))
    subprocess.run(  # noqa: S603 - fixed tool
        [
            "/usr/bin/openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(directory / "key.pem"),
            "-out",
            str(directory / "cert.pem"),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    s3 = SeaweedS3("127.0.0.1", 0, secrets.token_hex(10), secrets.token_hex(20))
    identities = {
        "identities": [
            {
                "name": "afspraak",
                "credentials": [{"accessKey": s3.access_key, "secretKey": s3.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (directory / "s3.json").write_text(json.dumps(identities))
    (directory / "data").mkdir()
    names = [
        "master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
        "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc", "s3.port.https",
        "s3.port.iceberg", "s3.port.lance", "metricsPort",
    ]  # fmt: skip
    ports = dict(zip(names, _free_ports(len(names)), strict=True))
    with (directory / "weed.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - the pinned SeaweedFS binary
            [
                str(WEED),
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-dir={directory / 'data'}",
                "-volume.max=100",
                "-filer",
                "-s3",
                f"-s3.config={directory / 's3.json'}",
                f"-s3.cert.file={directory / 'cert.pem'}",
                f"-s3.key.file={directory / 'key.pem'}",
                # Its unix sockets go in its directory, not /tmp, so nothing outlives it.
                f"-filer.localSocket={directory / 'filer.sock'}",
                f"-s3.localSocket={directory / 's3.sock'}",
                *(f"-{name}={port}" for name, port in ports.items()),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=directory,
        )
    # SeaweedFS also puts a unix socket per gRPC port in /tmp, with no option to move it.
    sockets = [
        Path(f"/tmp/seaweedfs-{kind}-grpc-{ports[f'{kind}.port.grpc']}.sock")  # noqa: S108
        for kind in ("master", "volume", "filer", "s3")
    ]
    watched = _Watched(process, directory, sockets)
    # s3.port answers plain HTTP; the HTTPS port is the one used.
    s3 = SeaweedS3(s3.host, ports["s3.port.https"], s3.access_key, s3.secret_key)
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    client = s3.client()
    deadline = time.monotonic() + 90
    while True:
        try:
            client.create_bucket(Bucket=BUCKET)
            break
        except Exception:
            if time.monotonic() > deadline or process.poll() is not None:
                log_text = (directory / "weed.log").read_text(errors="replace")[-3000:]
                watched.stop()
                raise RuntimeError(f"SeaweedFS did not start:\n{log_text}") from None
            time.sleep(0.5)
    return s3, watched


class ArchivingServer(ThrowAwayServer):
    """The harness's throw-away cluster, archiving its WAL through pgBackRest."""

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.config_path = config_path

    def run_on(self, clock: Path) -> None:
        """Run the server (once started) on the faked time of the ``clock`` file."""
        # Every tool of the harness, pg_ctl start too, runs through this prefix.
        clocked = (f"{k}={v}" for k, v in faked_clock_environment(clock).items())
        self.run_as = [*self.run_as, "env", *clocked]

    def _initdb(self) -> str:
        password = super()._initdb()
        archive = f"pgbackrest --config-path={self.config_path} --stanza={STANZA} archive-push %p"
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write(
                "archive_mode = on\n"
                f"archive_command = '{archive}'\n"
                "wal_level = replica\n"
                "max_wal_senders = 3\n"
            )
        hba = self.data_dir / "pg_hba.conf"
        hba.write_text(
            "local all postgres peer\nlocal replication postgres peer\n" + hba.read_text()
        )
        return password


def write_config(
    base: Path,
    postgres: ArchivingServer,
    port: int,
    s3: SeaweedS3 | None,
    *,
    plain_second: bool = False,
) -> None:
    """Write the deployed pgbackrest.conf with this test's paths, ports and secrets.

    Everything else, retention and encryption above all, is the deployed file's. Without
    ``s3`` the second repository is a directory (``base/repo2``); ``plain_second`` leaves
    it unencrypted (the benchmark's comparison).
    """
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(DEPLOYED_CONFIG)
    for name in ("repo1", "conf.d", "log", "lock", *(() if s3 else ("repo2",))):
        (base / name).mkdir(mode=0o700)
        _for_server_user(base / name)
    parser["global"].update(
        {
            "log-path": str(base / "log"),
            "lock-path": str(base / "lock"),
            "repo1-path": str(base / "repo1"),
        }
    )
    if s3 is None:
        for option in [name for name in parser["global"] if name.startswith("repo2-s3-")]:
            del parser["global"][option]
        parser["global"].update({"repo2-type": "posix", "repo2-path": str(base / "repo2")})
        if plain_second:
            del parser["global"]["repo2-cipher-type"]
    else:
        parser["global"].update(
            {
                "repo2-s3-endpoint": s3.host,
                "repo2-storage-port": str(s3.port),
                "repo2-storage-verify-tls": "n",
                "repo2-s3-region": "us-east-1",
            }
        )
    parser[STANZA].update(
        {
            "pg1-path": str(postgres.data_dir),
            "pg1-port": str(port),
            "pg1-socket-path": str(postgres.base_dir),
        }
    )
    with (base / "pgbackrest.conf").open("w", encoding="utf-8") as config:
        parser.write(config)
    secrets_file = base / "conf.d" / "secrets.conf"
    secrets_file.write_text(
        "[global]\n"
        f"repo1-cipher-pass={secrets.token_urlsafe(32)}\n"
        + ("" if plain_second else f"repo2-cipher-pass={secrets.token_urlsafe(32)}\n")
        + (f"repo2-s3-key={s3.access_key}\nrepo2-s3-key-secret={s3.secret_key}\n" if s3 else "")
    )
    secrets_file.chmod(0o600)
    _for_server_user(secrets_file)
    _for_server_user(base / "pgbackrest.conf")


def _prepare(setup: PgBackRestSetup, master_keyset: Path) -> None:
    """Create the stanza, check the archiving and migrate the database."""
    setup.pgbackrest("stanza-create")
    setup.pgbackrest("check")
    migrated = subprocess.run(  # noqa: S603 - our own interpreter
        setup.python("-m", "afspraak.cli", "migrate", "--no-input", "-v", "0"),
        env=setup.environment(master_keyset, setup.base / "var"),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert migrated.returncode == 0, migrated.stderr


def start_pgbackrest_setup(master_keyset: Path) -> Iterator[PgBackRestSetup]:
    """Start both servers, create the stanza and migrate the database; stop them after."""
    s3, weed = start_seaweedfs()
    # Inside the watched directory, so the watchdog removes the repository too.
    weed.directory.chmod(0o711)
    base = weed.directory / "pgbackrest"
    base.mkdir(mode=0o755)
    _for_server_user(base)
    server = ArchivingServer(base)
    try:
        coordinates = server.start()
        write_config(base, server, coordinates.port, s3)
        setup = PgBackRestSetup(coordinates, s3, base / "pgbackrest.conf", base, server.bin_dir)
        _prepare(setup, master_keyset)
        yield setup
    finally:
        server.stop()
        weed.stop()


def start_days_ahead_setup(master_keyset: Path) -> Iterator[PgBackRestSetup]:
    """Start an archiving PostgreSQL whose clock, pgBackRest's and the app's a test moves.

    Both repositories are directories, with the deployed retention and encryption.
    """
    assert LIBFAKETIME.is_file(), "install faketime (scripts/ensure-system-packages.sh test)"
    server = ArchivingServer(Path())
    # In the cluster's directory, which its watchdog removes should this process die.
    base = server.config_path = server.base_dir / "pgbackrest"
    clock = server.base_dir / "clock"
    clock.write_text("+0\n", encoding="utf-8")
    _for_server_user(clock)
    base.mkdir(mode=0o755)
    _for_server_user(base)
    server.run_on(clock)
    try:
        coordinates = server.start()
        write_config(base, server, coordinates.port, None)
        # The app finds pgBackRest on its PATH: there, the faked one.
        shim = base / "faked-bin" / "pgbackrest"
        shim.parent.mkdir(mode=0o755)
        clocked = " ".join(f"{k}={v}" for k, v in faked_clock_environment(clock).items())
        shim.write_text(f'#!/bin/sh\nexec env {clocked} /usr/bin/pgbackrest "$@"\n')
        shim.chmod(0o755)
        setup = PgBackRestSetup(
            coordinates, None, base / "pgbackrest.conf", base, server.bin_dir, clock
        )
        _prepare(setup, master_keyset)
        yield setup
    finally:
        server.stop()

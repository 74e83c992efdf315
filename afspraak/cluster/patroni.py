"""Two Patroni-managed PostgreSQL 15 nodes and their etcd on loopback (tests, ``make cluster``).

``running_patroni_pair(directory)`` starts etcd and two Patroni nodes (``pg1``, ``pg2``) as
the ``postgres`` user, each PostgreSQL on a free 127.0.0.1 port with TLS (a local CA signs
its certificate) and SCRAM passwords, in synchronous mode: a commit returns only once the
standby has it, so a confirmed booking is on two nodes. It waits for a leader and a
streaming synchronous standby, creates Afspraak's roles and database the way the test
harness does (``afspraak.tenancy.database_roles``), migrates as the owner, creates the
database cache's table (as ``afspraak setup`` does) and grants the application role its
privileges (``afspraak.tenancy.rls.app_role_grants_sql``). The app
reaches the current primary through ``PatroniPair.database_settings()``: a libpq multi-host
connection with ``target_session_attrs=read-write``. Leaving the block stops both nodes and
etcd (SIGKILL if they do not stop in time); a watchdog does the same if the process dies.

Loopback only: ``fsync`` is off (a test kills processes, not the machine) and the REST API
has no password. ``deploy/patroni/`` holds the configuration for real machines.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from afspraak.cluster.etcd import Etcd, start_etcd
from afspraak.cluster.loopback import LOOPBACK as HOST
from afspraak.cluster.loopback import free_port, wait_until
from afspraak.cluster.processes import ServerProcess, Watchdog, start_server
from afspraak.server.certificates import ensure_local_certificates, local_tls_files
from afspraak.tenancy.database_roles import DatabaseRoles, create_roles_and_database

SCOPE = "afspraak"
NODE_NAMES = ("pg1", "pg2")
SYSTEM_USER = "postgres"
SUPERUSER = "postgres"
REPLICATION_USER = "replicator"
OWNER_ROLE = "afspraak_owner"
APP_ROLE = "afspraak_app"
DATABASE_NAME = "afspraak"
PG_BIN_DIR = Path("/usr/lib/postgresql/15/bin")
RUNUSER = "/usr/sbin/runuser"
# As root, a link to the virtualenv outside the clone (Makefile): postgres runs it by its real path.
PATRONI_VENV = (Path(__file__).resolve().parents[2] / ".venv-patroni").resolve()
# Patroni's minimum ttl; a dead leader's lock expires at most this long after its last renewal.
LEADER_TTL = 20
_START_TIMEOUT = 90
_FAILOVER_TIMEOUT = 60


class PatroniError(RuntimeError):
    """The pair could not be started or did not reach the state waited for."""


@dataclass
class PatroniNode:
    """One Patroni node: its ports, its files, and its Patroni process while it runs."""

    name: str
    pg_port: int
    api_port: int
    directory: Path
    process: ServerProcess | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def config_file(self) -> Path:
        return self.directory / "patroni.yml"

    @property
    def log_file(self) -> Path:
        return self.directory / "patroni.log"

    def postmaster_pid(self) -> int | None:
        """Return the pid of this node's running postmaster, if any."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return None
        return pid

    def status(self) -> dict[str, Any] | None:
        """Return Patroni's own view of this node (``GET /patroni``), or None when it is down."""
        return _get_json(f"http://{HOST}:{self.api_port}/patroni")


@dataclass
class PatroniPair:
    """The running pair: who leads, the app's connection settings, and failure drills."""

    directory: Path
    etcd: Etcd
    nodes: dict[str, PatroniNode]
    roles: DatabaseRoles
    superuser_password: str
    ca_cert: Path
    events: list[str] = field(default_factory=list)

    def database_settings(self, role: Literal["owner", "app"] = "owner") -> dict[str, str]:
        """Return the environment that points the app at the current primary, whichever it is."""
        user, password = (
            (self.roles.owner_user, self.roles.owner_password)
            if role == "owner"
            else (self.roles.app_user, self.roles.app_password)
        )
        nodes = list(self.nodes.values())
        return {
            "AFSPRAAK_DB_ENGINE": "postgresql",
            "AFSPRAAK_DB_HOST": ",".join(HOST for _ in nodes),
            "AFSPRAAK_DB_PORT": ",".join(str(node.pg_port) for node in nodes),
            "AFSPRAAK_DB_NAME": self.roles.database,
            "AFSPRAAK_DB_USER": user,
            "AFSPRAAK_DB_PASSWORD": password,
            "AFSPRAAK_DB_SSLMODE": "verify-full",
            "AFSPRAAK_DB_TARGET_SESSION_ATTRS": "read-write",
            # libpq reads the CA from here: no Afspraak setting needed for verify-full.
            "PGSSLROOTCERT": str(self.ca_cert),
            "PGCONNECT_TIMEOUT": "5",
        }

    def connection_kwargs(
        self, node: str, role: Literal["owner", "app", "superuser"] = "owner"
    ) -> dict[str, Any]:
        """Return ``psycopg.connect`` arguments for one node (not the multi-host address)."""
        user, password = {
            "owner": (self.roles.owner_user, self.roles.owner_password),
            "app": (self.roles.app_user, self.roles.app_password),
            "superuser": (SUPERUSER, self.superuser_password),
        }[role]
        return {
            "host": HOST,
            "port": self.nodes[node].pg_port,
            "user": user,
            "password": password,
            "dbname": self.roles.database if role != "superuser" else "postgres",
            "sslmode": "verify-full",
            "sslrootcert": str(self.ca_cert),
            "connect_timeout": 5,
        }

    def members(self) -> list[dict[str, Any]]:
        """Return the members as Patroni's ``GET /cluster`` lists them (from any live node)."""
        for node in self.nodes.values():
            answer = _get_json(f"http://{HOST}:{node.api_port}/cluster")
            if answer is not None:
                return list(answer.get("members", []))
        return []

    def leader(self) -> str | None:
        """Return the name of the node that holds the leader lock and runs as primary."""
        for member in self.members():
            if member.get("role") == "leader" and member.get("state") == "running":
                return str(member["name"])
        return None

    def standbys(self) -> list[str]:
        """Return the nodes streaming from the leader as its synchronous standby."""
        return [
            str(member["name"])
            for member in self.members()
            if member.get("role") == "sync_standby" and member.get("state") == "streaming"
        ]

    def kill_leader(self) -> str:
        """Kill the leader's Patroni and postmaster at once (kill -9); return its name."""
        name = self.leader()
        if name is None:
            raise PatroniError("There is no leader to kill")
        node = self.nodes[name]
        if node.process is not None:
            # Patroni first, so it cannot restart the postmaster it is about to lose.
            node.process.kill()
            node.process = None
        pid = node.postmaster_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        self._note(f"killed leader {name} (postmaster {pid})")
        return name

    def wait_for_new_leader(self, old: str, timeout: float = _FAILOVER_TIMEOUT) -> str:
        """Wait until a node other than ``old`` leads and accepts writes; return its name."""
        found: list[str] = []

        def promoted() -> bool:
            name = self.leader()
            if name is None or name == old or not self._accepts_writes(name):
                return False
            found.append(name)
            return True

        seconds = wait_until(promoted, timeout=timeout, what=f"a new leader after {old}")
        self._note(f"{found[-1]} leads, {seconds:.1f} s after waiting began")
        return found[-1]

    def wait_for_standby(self, name: str, timeout: float = _START_TIMEOUT) -> None:
        """Wait until ``name`` streams from the leader as its synchronous standby."""
        wait_until(
            lambda: name in self.standbys(), timeout=timeout, what=f"{name} as synchronous standby"
        )
        self._note(f"{name} is the synchronous standby")

    def restart_node(self, name: str) -> None:
        """Stop ``name``'s Patroni if it runs, then start it again (a former leader rejoins)."""
        node = self.nodes[name]
        if node.process is not None:
            node.process.stop()
        _start_patroni(node)
        self._note(f"started {name} again")

    def timeline(self, node: str) -> int:
        """Return the timeline the node's PostgreSQL runs on (rises with each promotion)."""
        status = self.nodes[node].status()
        if status is None or "timeline" not in status:
            raise PatroniError(f"{node} reports no timeline")
        return int(status["timeline"])

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both nodes and etcd; kill what has not stopped within ``timeout`` seconds."""
        processes = [node.process for node in self.nodes.values() if node.process is not None]
        for process in processes:
            # Both at once: the standby must not take over from a leader that is stopping.
            process.terminate()
        deadline = time.monotonic() + timeout
        for process in processes:
            process.stop(timeout=max(0.0, deadline - time.monotonic()))
        for node in self.nodes.values():
            node.process = None
            pid = node.postmaster_pid()
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        self.etcd.process.stop(timeout=5)

    def _accepts_writes(self, name: str) -> bool:
        import psycopg

        try:
            with psycopg.connect(**self.connection_kwargs(name, "superuser")) as conn:
                row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        except psycopg.Error:
            return False
        return row is not None and row[0] is False

    def _note(self, event: str) -> None:
        self.events.append(f"{time.strftime('%H:%M:%S')} {event}")


@contextmanager
def running_patroni_pair(directory: Path) -> Iterator[PatroniPair]:
    """Start etcd and two Patroni PostgreSQL nodes in ``directory``; stop them on leaving."""
    _check_prerequisites(directory)
    with ExitStack() as stack:
        watchdog = Watchdog(directory)
        stack.callback(watchdog.close)
        etcd = start_etcd(directory)
        stack.callback(etcd.process.stop)
        ca_cert = _make_certificates(directory)
        passwords = {user: secrets.token_urlsafe(24) for user in (SUPERUSER, REPLICATION_USER)}
        nodes = {
            name: PatroniNode(
                name=name, pg_port=free_port(), api_port=free_port(), directory=directory / name
            )
            for name in NODE_NAMES
        }
        pair = PatroniPair(
            directory=directory,
            etcd=etcd,
            nodes=nodes,
            roles=DatabaseRoles(
                owner_user=OWNER_ROLE,
                owner_password=secrets.token_urlsafe(24),
                app_user=APP_ROLE,
                app_password=secrets.token_urlsafe(24),
                database=DATABASE_NAME,
            ),
            superuser_password=passwords[SUPERUSER],
            ca_cert=ca_cert,
        )
        stack.callback(pair.stop)
        for node in nodes.values():
            _prepare_node(node, directory, etcd, passwords)
            _start_patroni(node)
        try:
            wait_until(
                lambda: pair.leader() is not None, timeout=_START_TIMEOUT, what="a Patroni leader"
            )
            leader = str(pair.leader())
            # Migrating while the standby copies the primary saves the time of one of them; a
            # commit does not wait for a standby that has not joined yet (Patroni lets it).
            _create_database(pair, leader)
            pair.wait_for_standby(next(name for name in nodes if name != leader))
        except TimeoutError as error:
            raise PatroniError(f"{error}\n{_logs(pair)}") from error
        yield pair


def _check_prerequisites(directory: Path) -> None:
    patroni = PATRONI_VENV / "bin" / "patroni"
    if not patroni.exists():
        raise PatroniError(
            f"Patroni is not installed: run make .venv-patroni/.installed ({patroni})"
        )
    if not (PG_BIN_DIR / "postgres").exists():
        raise PatroniError(f"PostgreSQL 15 is not installed ({PG_BIN_DIR})")
    if os.geteuid() != 0:
        raise PatroniError(
            "The Patroni pair runs PostgreSQL as the postgres user: start it as root"
        )
    for path in (patroni, directory):
        # The nodes run as postgres, which must reach both Patroni and the cluster directory.
        probe = subprocess.run(  # noqa: S603 (fixed argument list)
            [RUNUSER, "-u", SYSTEM_USER, "--", "test", "-r", str(path), "-a", "-x", str(path)],
            check=False,
        )
        if probe.returncode != 0:
            raise PatroniError(
                f"The {SYSTEM_USER} user cannot reach {path}: give it access to that path "
                "(chmod o+rx on the directories above it)"
            )


def _make_certificates(directory: Path) -> Path:
    tls_dir = directory / "tls"
    ensure_local_certificates(tls_dir, hostnames=(HOST, "localhost"))
    return local_tls_files(tls_dir).ca_cert


def _prepare_node(
    node: PatroniNode, directory: Path, etcd: Etcd, passwords: dict[str, str]
) -> None:
    account = pwd.getpwnam(SYSTEM_USER)
    node.directory.mkdir(mode=0o700)
    tls = local_tls_files(directory / "tls")
    # PostgreSQL refuses a key file that others can read or that another user owns.
    for source, target in ((tls.server_cert, "server.crt"), (tls.server_key, "server.key")):
        shutil.copyfile(source, node.directory / target)
        (node.directory / target).chmod(0o600)
    node.config_file.write_text(json.dumps(_node_config(node, etcd, passwords), indent=2))
    node.config_file.chmod(0o600)
    for path in [node.directory, *node.directory.iterdir()]:
        os.chown(path, account.pw_uid, account.pw_gid)


def _node_config(node: PatroniNode, etcd: Etcd, passwords: dict[str, str]) -> dict[str, Any]:
    """Return the node's Patroni configuration (JSON is YAML); deploy/patroni/ explains each key."""
    return {
        "scope": SCOPE,
        "name": node.name,
        "log": {"level": "INFO"},
        "restapi": {
            "listen": f"{HOST}:{node.api_port}",
            "connect_address": f"{HOST}:{node.api_port}",
        },
        "etcd3": {"hosts": [etcd.client_address]},
        "bootstrap": {
            "dcs": {
                "ttl": LEADER_TTL,
                "loop_wait": 1,
                "retry_timeout": 5,
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": True,
                "postgresql": {
                    "use_pg_rewind": True,
                    "use_slots": True,
                    "parameters": {
                        "wal_level": "replica",
                        "hot_standby": "on",
                        "wal_log_hints": "on",
                        "max_wal_senders": 10,
                        "max_replication_slots": 10,
                        "fsync": "off",
                        "full_page_writes": "on",
                    },
                },
            },
            "initdb": [{"encoding": "UTF8"}, "no-locale", "data-checksums"],
        },
        "postgresql": {
            "listen": f"{HOST}:{node.pg_port}",
            "connect_address": f"{HOST}:{node.pg_port}",
            "data_dir": str(node.data_dir),
            "bin_dir": str(PG_BIN_DIR),
            "pgpass": str(node.directory / "pgpass"),
            # pg_basebackup otherwise waits for a spread checkpoint: minutes, when the copy
            # starts while the migrations have just dirtied many pages.
            "basebackup": [{"checkpoint": "fast"}],
            "authentication": {
                "superuser": {"username": SUPERUSER, "password": passwords[SUPERUSER]},
                "replication": {
                    "username": REPLICATION_USER,
                    "password": passwords[REPLICATION_USER],
                },
            },
            "parameters": {
                "unix_socket_directories": str(node.directory),
                "ssl": "on",
                "ssl_cert_file": str(node.directory / "server.crt"),
                "ssl_key_file": str(node.directory / "server.key"),
                "ssl_min_protocol_version": "TLSv1.2",
                "password_encryption": "scram-sha-256",
            },
            "pg_hba": [
                "local all all scram-sha-256",
                f"hostssl replication {REPLICATION_USER} {HOST}/32 scram-sha-256",
                f"hostssl all all {HOST}/32 scram-sha-256",
                "hostnossl all all 0.0.0.0/0 reject",
            ],
        },
    }


def _start_patroni(node: PatroniNode) -> None:
    node.process = start_server(
        f"patroni-{node.name}",
        [str(PATRONI_VENV / "bin" / "patroni"), str(node.config_file)],
        directory=node.directory.parent,
        log_file=node.log_file,
        run_as=SYSTEM_USER,
        environment={
            "PATH": "/usr/bin:/bin",
            "HOME": str(node.directory),
            "LANG": "C.UTF-8",
        },
    )


# What ``afspraak setup`` does to a new database: the schema, then the table of the database
# cache (rate limits and lockout counters when there is no Redis).
_MIGRATE = (
    "import django; django.setup(); from django.core.management import call_command; "
    "call_command('migrate', interactive=False, verbosity=0); "
    "call_command('createcachetable', verbosity=0)"
)


def _create_database(pair: PatroniPair, leader: str) -> None:
    """Create the roles and database on the leader, migrate as the owner, grant the app role."""
    import psycopg

    from afspraak.tenancy.rls import app_role_grants_sql

    with psycopg.connect(**pair.connection_kwargs(leader, "superuser"), autocommit=True) as conn:
        create_roles_and_database(conn, pair.roles)
    environment = {
        **os.environ,
        **pair.database_settings("owner"),
        "DJANGO_SETTINGS_MODULE": "afspraak.settings",
        "AFSPRAAK_MASTER_KEYSET_FILE": str(pair.directory / "keys" / "master.json"),
        "AFSPRAAK_MASTER_KEY_URI": "",
        "AFSPRAAK_LOG_LEVEL": "warning",
    }
    result = subprocess.run(  # noqa: S603 (this interpreter, a fixed snippet)
        [sys.executable, "-c", _MIGRATE],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=str(pair.directory),
    )
    if result.returncode != 0:
        raise PatroniError(f"migrate or createcachetable failed:\n{result.stdout}{result.stderr}")
    with psycopg.connect(**pair.connection_kwargs(leader, "owner"), autocommit=True) as conn:
        for statement in app_role_grants_sql(pair.roles.app_user):
            conn.execute(statement)
    pair._note(
        "created roles and database, migrated, created the cache table, granted the app role"
    )


def _get_json(url: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (http on loopback)
            return dict(json.loads(answer.read()))
    except (OSError, urllib.error.URLError, ValueError):
        return None


def _logs(pair: PatroniPair) -> str:
    tails = []
    for node in pair.nodes.values():
        text = node.log_file.read_text(errors="replace") if node.log_file.exists() else ""
        tails.append(f"--- {node.log_file} ---\n{text[-3000:]}")
    return "\n".join(tails)

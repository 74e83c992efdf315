"""A throw-away PostgreSQL server for one test run (pytest plugin, loaded with ``-p``).

``AFSPRAAK_TEST_DATABASE`` picks the engine: ``sqlite`` (the default) or ``postgresql``.

With ``postgresql`` the pytest process that controls the run (the xdist controller, or
the only process without xdist) runs ``initdb`` in a fresh temporary directory and
starts a server listening on 127.0.0.1 only, on a free port, with its unix socket in
that directory, fsync off and password (SCRAM-SHA-256) authentication everywhere. As
root, ``initdb`` and ``pg_ctl`` run as the ``postgres`` system user through ``runuser``.
The server is stopped (``pg_ctl stop -m immediate``) and its directory removed at the
end of the run, Ctrl-C included; a watchdog process does the same if pytest dies
without cleaning up (SIGTERM, even SIGKILL).

The server has two roles besides its superuser:

- ``afspraak_owner`` (LOGIN CREATEDB, not superuser): runs migrations, owns the tables
  and an empty ``afspraak`` database. Django connects as this role, so its test runner
  can create the test database (``test_afspraak``, ``test_afspraak_gw0`` under xdist).
- ``afspraak_app`` (LOGIN, not superuser, no BYPASSRLS, owns nothing): the role request
  traffic will use once row-level security is on. It may connect to the test database
  (PostgreSQL grants CONNECT to PUBLIC) but holds no privilege on any table: grant
  them in the migration or fixture that switches traffic to it.

The server's coordinates reach Django and the xdist workers (which inherit the
controller's environment) through environment variables, set before pytest-django
imports the settings (this plugin's ``pytest_load_initial_conftests`` runs first):

- ``AFSPRAAK_DB_ENGINE``, ``AFSPRAAK_DB_HOST``, ``AFSPRAAK_DB_PORT``, ``AFSPRAAK_DB_NAME``,
  ``AFSPRAAK_DB_USER``, ``AFSPRAAK_DB_PASSWORD``, ``AFSPRAAK_DB_SSLMODE``: read by
  ``afspraak/settings.py`` (the owner role);
- ``AFSPRAAK_TEST_PG_HOST``, ``AFSPRAAK_TEST_PG_PORT``, ``AFSPRAAK_TEST_PG_DATA_DIR``,
  ``AFSPRAAK_TEST_PG_OWNER_USER``, ``AFSPRAAK_TEST_PG_OWNER_PASSWORD``,
  ``AFSPRAAK_TEST_PG_APP_USER``, ``AFSPRAAK_TEST_PG_APP_PASSWORD``: both roles, for tests.

Tests read them through the ``postgres_server`` fixture (a :class:`PostgresCoordinates`)
or ``PostgresCoordinates.from_environ()``. Every role signs in with a password, also
over the socket: give command-line tools ``PGPASSWORD`` (e.g. ``pg_dump`` as the owner).
Tests that only make sense on PostgreSQL carry the ``postgres_only`` marker: the SQLite
run deselects them; ``sqlite_only`` tests are deselected on the PostgreSQL run.

On the SQLite run ``AFSPRAAK_DB_ENGINE`` is forced to ``sqlite``, so a developer's own
database settings never decide which engine the tests use.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

SELECTOR = "AFSPRAAK_TEST_DATABASE"
ENGINES = ("sqlite", "postgresql")
HOST = "127.0.0.1"
SUPERUSER = "postgres"
OWNER_ROLE = "afspraak_owner"
APP_ROLE = "afspraak_app"
DATABASE_NAME = "afspraak"
SYSTEM_USER = "postgres"
BIN_DIR_GLOB = "/usr/lib/postgresql/*/bin"

_START_ATTEMPTS = 5
_PORT_TAKEN = re.compile(r"could not bind|Address already in use", re.IGNORECASE)
_LOG_TAIL_CHARS = 6000
_COMMAND_TIMEOUT = 120


class PostgresHarnessError(RuntimeError):
    """The throw-away server could not be set up; the run stops instead of using SQLite."""


@dataclass(frozen=True)
class PostgresCoordinates:
    """Where the run's throw-away server listens and how each role signs in."""

    host: str
    port: int
    data_dir: Path
    owner_user: str
    owner_password: str
    app_user: str
    app_password: str

    _VARIABLES = (
        ("host", "AFSPRAAK_TEST_PG_HOST"),
        ("port", "AFSPRAAK_TEST_PG_PORT"),
        ("data_dir", "AFSPRAAK_TEST_PG_DATA_DIR"),
        ("owner_user", "AFSPRAAK_TEST_PG_OWNER_USER"),
        ("owner_password", "AFSPRAAK_TEST_PG_OWNER_PASSWORD"),
        ("app_user", "AFSPRAAK_TEST_PG_APP_USER"),
        ("app_password", "AFSPRAAK_TEST_PG_APP_PASSWORD"),
    )

    @classmethod
    def from_environ(cls) -> PostgresCoordinates:
        """Read the coordinates the controlling pytest process exported."""
        missing = [name for _, name in cls._VARIABLES if not os.environ.get(name)]
        if missing:
            raise PostgresHarnessError(
                f"The throw-away PostgreSQL server is not running ({', '.join(missing)} unset); "
                f"run with {SELECTOR}=postgresql."
            )
        values: dict[str, Any] = {field: os.environ[name] for field, name in cls._VARIABLES}
        values["port"] = int(values["port"])
        values["data_dir"] = Path(values["data_dir"])
        return cls(**values)

    def environ(self) -> dict[str, str]:
        """Return the variables that point Django and the tests at this server."""
        harness = {name: str(getattr(self, field)) for field, name in self._VARIABLES}
        return harness | {
            "AFSPRAAK_DB_ENGINE": "postgresql",
            "AFSPRAAK_DB_HOST": self.host,
            "AFSPRAAK_DB_PORT": str(self.port),
            "AFSPRAAK_DB_NAME": DATABASE_NAME,
            "AFSPRAAK_DB_USER": self.owner_user,
            "AFSPRAAK_DB_PASSWORD": self.owner_password,
            "AFSPRAAK_DB_SSLMODE": "disable",
        }

    def connection_kwargs(self, role: Literal["owner", "app"], dbname: str) -> dict[str, Any]:
        """Return ``psycopg.connect`` arguments for signing in to ``dbname`` as ``role``."""
        user, password = (
            (self.owner_user, self.owner_password)
            if role == "owner"
            else (self.app_user, self.app_password)
        )
        return {
            "host": self.host,
            "port": self.port,
            "user": user,
            "password": password,
            "dbname": dbname,
            "sslmode": "disable",
            "connect_timeout": 10,
        }


def selected_engine() -> str:
    """Return the engine the run tests against, from ``AFSPRAAK_TEST_DATABASE``."""
    engine = os.environ.get(SELECTOR, "").strip().lower() or "sqlite"
    if engine not in ENGINES:
        raise pytest.UsageError(f"{SELECTOR} must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


def find_bin_dir() -> Path:
    """Return the newest installed PostgreSQL's binary directory."""
    candidates = [path for path in Path("/").glob(BIN_DIR_GLOB.lstrip("/")) if path.is_dir()]
    candidates = [path for path in candidates if (path / "initdb").exists()]
    if not candidates:
        raise PostgresHarnessError(
            f"No PostgreSQL server found in {BIN_DIR_GLOB}: install Debian's postgresql package."
        )
    return max(candidates, key=lambda path: _version_key(path.parent.name))


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


def _run_as() -> list[str]:
    """Return the command prefix that runs PostgreSQL's tools (which refuse root) as its user."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        raise PostgresHarnessError(
            "Running as root needs runuser (util-linux) to drop to postgres."
        )
    try:
        pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise PostgresHarnessError(
            f"Running as root needs the {SYSTEM_USER!r} system user (Debian's postgresql package)."
        ) from None
    return [runuser, "-u", SYSTEM_USER, "--"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _read_tail(path: Path, start: int = 0) -> str:
    try:
        with path.open("rb") as log:
            log.seek(start)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    return text[-_LOG_TAIL_CHARS:]


def _execute(command: list[str], what: str, log: Path | None = None) -> None:
    """Run one PostgreSQL tool; raise with its output and the server log when it fails."""
    # A session of its own: a Ctrl-C at the terminal reaches pytest, which stops the
    # server in order, instead of killing the server half-way.
    result = subprocess.run(  # noqa: S603 (fixed argument list of trusted local tools)
        command,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        start_new_session=True,
        timeout=_COMMAND_TIMEOUT,
    )
    if result.returncode != 0:
        details = (result.stdout + result.stderr).strip()
        server_log = f"\n--- server log ({log}) ---\n{_read_tail(log)}" if log else ""
        raise PostgresHarnessError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{details}{server_log}"
        )


def destroy_cluster(base_dir: Path, bin_dir: Path, run_as: list[str]) -> None:
    """Stop the server living in ``base_dir`` at once and delete the directory."""
    data_dir = base_dir / "data"
    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        stop = [*run_as, str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "immediate", "-w"]
        subprocess.run(  # noqa: S603 (fixed argument list of trusted local tools)
            [*stop, "-t", "20", "stop"],
            capture_output=True,
            check=False,
            cwd="/",
            start_new_session=True,
            timeout=_COMMAND_TIMEOUT,
        )
        if pid_file.exists():
            _kill_postmaster(pid_file)
    shutil.rmtree(base_dir, ignore_errors=True)


def _kill_postmaster(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        return


class ThrowAwayServer:
    """One PostgreSQL cluster in a temporary directory, alive for one test run."""

    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.run_as = _run_as()
        self.base_dir = Path(tempfile.mkdtemp(prefix="afspraak-pg-"))
        self.data_dir = self.base_dir / "data"
        self.log_file = self.base_dir / "server.log"
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._stopped = False

    def start(self) -> PostgresCoordinates:
        """Create the cluster, start it on a free loopback port and create the roles."""
        atexit.register(self.stop)
        try:
            self._hand_directory_to_server_user()
            self._start_watchdog()
            superuser_password = self._initdb()
            port = self._start_on_free_port()
            coordinates = PostgresCoordinates(
                host=HOST,
                port=port,
                data_dir=self.data_dir,
                owner_user=OWNER_ROLE,
                owner_password=secrets.token_urlsafe(24),
                app_user=APP_ROLE,
                app_password=secrets.token_urlsafe(24),
            )
            self._create_roles(coordinates, superuser_password)
        except BaseException:
            self.stop()
            raise
        return coordinates

    def stop(self) -> None:
        """Stop the server and remove its directory; safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        destroy_cluster(self.base_dir, self.bin_dir, self.run_as)
        if self._watchdog is not None and self._watchdog.stdin is not None:
            self._watchdog.stdin.close()
            try:
                self._watchdog.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._watchdog.kill()

    def _hand_directory_to_server_user(self) -> None:
        if self.run_as:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.base_dir, account.pw_uid, account.pw_gid)

    def _start_watchdog(self) -> None:
        spec = json.dumps(
            {"base_dir": str(self.base_dir), "bin_dir": str(self.bin_dir), "run_as": self.run_as}
        )
        # The watchdog holds the read end of a pipe only this process writes to: the pipe
        # closes when this process ends, however it ends, and the watchdog then cleans up.
        self._watchdog = subprocess.Popen(  # noqa: S603 (this module, run by this interpreter)
            [sys.executable, "-m", __name__, "--watchdog", spec],
            stdin=subprocess.PIPE,
            start_new_session=True,
            cwd="/",
        )

    def _initdb(self) -> str:
        password = secrets.token_urlsafe(24)
        password_file = self.base_dir / "superuser-password"
        password_file.write_text(password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        if self.run_as:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(password_file, account.pw_uid, account.pw_gid)
        _execute(
            [
                *self.run_as,
                str(self.bin_dir / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                SUPERUSER,
                "--auth=scram-sha-256",
                f"--pwfile={password_file}",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            "initdb",
        )
        password_file.unlink()
        settings = {
            "listen_addresses": f"'{HOST}'",
            "unix_socket_directories": f"'{self.base_dir}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
        }
        with (self.data_dir / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("\n# afspraak test harness\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        return password

    def _start_on_free_port(self) -> int:
        pg_ctl = [*self.run_as, str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir)]
        for attempt in range(_START_ATTEMPTS):
            port = _free_port()
            log_start = self.log_file.stat().st_size if self.log_file.exists() else 0
            try:
                _execute(
                    [
                        *pg_ctl,
                        "-l",
                        str(self.log_file),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        f"-p {port}",
                        "start",
                    ],
                    "pg_ctl start",
                    self.log_file,
                )
            except PostgresHarnessError:
                # Another process may take the port between the probe and the bind.
                taken = _PORT_TAKEN.search(_read_tail(self.log_file, log_start))
                if taken and attempt + 1 < _START_ATTEMPTS:
                    continue
                raise
            return port
        raise AssertionError("unreachable: the last attempt raises")

    def _create_roles(self, coordinates: PostgresCoordinates, superuser_password: str) -> None:
        import psycopg

        from afspraak.tenancy.database_roles import DatabaseRoles, create_roles_and_database

        roles = DatabaseRoles(
            owner_user=coordinates.owner_user,
            owner_password=coordinates.owner_password,
            app_user=coordinates.app_user,
            app_password=coordinates.app_password,
            database=DATABASE_NAME,
        )
        try:
            with psycopg.connect(
                host=coordinates.host,
                port=coordinates.port,
                user=SUPERUSER,
                password=superuser_password,
                dbname="postgres",
                sslmode="disable",
                autocommit=True,
                connect_timeout=10,
            ) as conn:
                create_roles_and_database(conn, roles)
        except psycopg.Error as error:
            raise PostgresHarnessError(
                f"Creating the test roles failed: {error}\n--- server log ({self.log_file}) ---\n"
                f"{_read_tail(self.log_file)}"
            ) from error


_server: ThrowAwayServer | None = None


def _is_xdist_worker() -> bool:
    # xdist sets this before a worker parses its configuration; ``config.workerinput``
    # only appears later, after pytest-django has imported the settings.
    return "PYTEST_XDIST_WORKER" in os.environ


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, args: list[str]) -> None:
    """Start the server (controller) or check it is there (worker) before settings load."""
    if "--help" in args or "-h" in args or "--version" in args or "-V" in args:
        return
    try:
        _prepare_database()
    except PostgresHarnessError as error:
        # pytest prints a UsageError's message plainly and exits non-zero (4).
        raise pytest.UsageError(str(error)) from error


def _prepare_database() -> None:
    global _server
    if "afspraak.settings" in sys.modules:
        raise PostgresHarnessError(
            "afspraak.settings was imported before the database harness ran; "
            "load afspraak.testing.postgres with -p before anything imports Django settings."
        )
    if selected_engine() != "postgresql":
        os.environ["AFSPRAAK_DB_ENGINE"] = "sqlite"
        return
    if _is_xdist_worker():
        PostgresCoordinates.from_environ()
        return
    _server = ThrowAwayServer()
    coordinates = _server.start()
    os.environ.pop("AFSPRAAK_DB_PASSWORD_FILE", None)
    os.environ.update(coordinates.environ())


def pytest_unconfigure(config: pytest.Config) -> None:
    if _server is not None:
        _server.stop()


def pytest_report_header(config: pytest.Config) -> str:
    if selected_engine() != "postgresql":
        return "database: SQLite"
    coordinates = PostgresCoordinates.from_environ()
    return (
        f"database: throw-away PostgreSQL at {coordinates.host}:{coordinates.port} "
        f"(data in {coordinates.data_dir})"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect the tests of the other engine: ``postgres_only`` or ``sqlite_only``."""
    other_engine = "sqlite_only" if selected_engine() == "postgresql" else "postgres_only"
    kept: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        (deselected if item.get_closest_marker(other_engine) else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


@pytest.fixture(scope="session")
def postgres_server() -> PostgresCoordinates:
    """Give the run's throw-away PostgreSQL server: address, data directory and both roles."""
    if selected_engine() != "postgresql":
        pytest.fail(f"postgres_server needs {SELECTOR}=postgresql; mark the test postgres_only")
    return PostgresCoordinates.from_environ()


def _watchdog_main(spec_json: str) -> None:
    """Wait for the pytest process to end, then destroy the cluster it left behind, if any."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    spec = json.loads(spec_json)
    sys.stdin.buffer.read()
    destroy_cluster(Path(spec["base_dir"]), Path(spec["bin_dir"]), list(spec["run_as"]))


if __name__ == "__main__" and sys.argv[1:2] == ["--watchdog"]:
    _watchdog_main(sys.argv[2])

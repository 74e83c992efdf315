"""Benchmark pgBackRest's encrypted full backup of PostgreSQL against a plain one, and restores.

Run: ``.venv/bin/python bench/pg_backup.py [MEGABYTES]`` (default 300; the issue's figure
is taken at 1100). As root, as the tests run, PostgreSQL and pgBackRest run as the
``postgres`` system user. It starts the pgBackRest tests' throw-away PostgreSQL 15
(``ArchivingServer``: 127.0.0.1, a free port, a temporary directory; fsync off, as in the
tests) archiving its WAL through pgBackRest into two repositories of the same kind
(posix, in the server's directory) with the deployed settings
(``deploy/pgbackrest/pgbackrest.conf``: zstd compression, ``process-max=2``,
``start-fast``): repo1 ``aes-256-cbc``-encrypted as deployed, repo2 the same unencrypted.
It migrates Afspraak's database and fills a ``bench_booking`` table shaped like bookings
(ids, times, status) with sealed invitee data (random base64 from pgcrypto, as
incompressible as ciphertext) and four indexes, on the server (``INSERT ... SELECT``
over ``generate_series``), until the database has about MEGABYTES; it waits for the
archiver to catch up, then measures:

- backup: ``pgbackrest backup --type=full`` into the encrypted repository and into the
  plain one, three turns each, alternating which goes first; the best wall time and,
  apart, the best CPU time of pgBackRest's processes (steadier than wall time on a shared
  machine: the encryption's cost shows there); their ratios (encrypted / plain) and the
  throughput (database megabytes per second);
- restore (RTO): seconds from the start of ``pgbackrest restore`` of a repository's
  newest backup into a new data directory to a started server answering a query on the
  restored ``bench_booking``, and the restore's CPU time, in the same turns; the
  encrypted repository's time and the ratios;
- the drill: ``afspraak backup drill --json`` (``run_pg_drill``: each repository's newest
  backup restored into a scratch cluster and checked); its recorded RTO and RPO.

Everything it starts is stopped and its directory removed at the end, Ctrl-C included
(and by the server's watchdog should this process be killed).
"""

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from _figures import figure

from afspraak.backups.tests.pgbackrest_servers import (
    STANZA,
    ArchivingServer,
    as_server_user,
    write_config,
)
from afspraak.cluster.loopback import free_port, wait_until
from afspraak.crypto.keyring import create_master_keyset
from afspraak.testing.postgres import (
    DATABASE_NAME,
    SYSTEM_USER,
    PostgresCoordinates,
)

ENCRYPTED, PLAIN = 1, 2
ROUNDS = 3
# Heap row (~1.2 kB, six to a page) plus its four index entries, measured on PostgreSQL 15.
BYTES_PER_ROW = 1475
BATCH_ROWS = 100_000
TIMEOUT = 3600

TABLE = """
CREATE TABLE bench_booking (
    id bigint PRIMARY KEY,
    organization_id bigint NOT NULL,
    public_id text NOT NULL,
    meeting_type_id bigint NOT NULL,
    host_id bigint NOT NULL,
    invitee_id bigint NOT NULL,
    status text NOT NULL,
    start timestamptz NOT NULL,
    "end" timestamptz NOT NULL,
    blocked_start timestamptz NOT NULL,
    blocked_end timestamptz NOT NULL,
    invitee_timezone text NOT NULL,
    sequence integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    invitee_sealed text NOT NULL
)
"""
# 768 random bytes in base64: the size of a booking's sealed invitee name, e-mail,
# telephone number and answers, and, like ciphertext, incompressible beyond base64's 3/4.
FILL = """
INSERT INTO bench_booking
SELECT n, 1 + n %% 200, rtrim(encode(gen_random_bytes(16), 'base64'), '='), 1 + n %% 1000,
       1 + n %% 2000, n, CASE WHEN n %% 10 = 0 THEN 'cancelled' ELSE 'confirmed' END,
       slot, slot + interval '30 minutes', slot - interval '5 minutes',
       slot + interval '35 minutes', 'Europe/Amsterdam', 0, now(), now(),
       translate(encode(gen_random_bytes(768), 'base64'), E'\\n', '')
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS n,
     LATERAL (SELECT timestamptz '2026-01-01 UTC' + (n %% 52560) * interval '15 minutes')
         AS s (slot)
"""
INDEXES = (
    "CREATE UNIQUE INDEX bench_booking_public_id ON bench_booking (public_id)",
    "CREATE INDEX bench_booking_org_start ON bench_booking (organization_id, start)",
    "CREATE INDEX bench_booking_host_blocked ON bench_booking (host_id, blocked_start)",
)


def _for_server(path: Path) -> Path:
    if os.geteuid() == 0:
        shutil.chown(path, SYSTEM_USER, SYSTEM_USER)
    return path


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - fixed tools, arguments built here
        command, capture_output=True, text=True, check=False, cwd="/", env=env, timeout=TIMEOUT
    )
    if result.returncode != 0:
        raise SystemExit(f"{what} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


def _turns() -> list[int]:
    """Return ROUNDS turns of both repositories, alternating which goes first.

    Alternating, so neither gains from going first or second (a warmer cache, the
    machine's load drifting).
    """
    return [
        repository
        for turn in range(ROUNDS)
        for repository in ((ENCRYPTED, PLAIN) if turn % 2 == 0 else (PLAIN, ENCRYPTED))
    ]


def _children_cpu() -> float:
    """Return the CPU seconds of every finished child process (pgBackRest's included)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _seconds(times: tuple[float, float]) -> str:
    return f"{times[0]:6.2f} s, {times[1]:6.2f} s CPU"


def _best(times: dict[int, list[tuple[float, float]]]) -> dict[int, tuple[float, float]]:
    """Return each repository's shortest wall time and, apart, its least CPU time."""
    return {
        repository: (min(wall for wall, _ in taken), min(cpu for _, cpu in taken))
        for repository, taken in times.items()
    }


class Bench:
    """The throw-away server, its pgBackRest configuration and what was restored from it."""

    def __init__(self) -> None:
        # The configuration path is set before start(), which writes it into archive_command.
        self.server = ArchivingServer(Path())
        # Inside the server's directory, so its watchdog removes the repositories too.
        self.base = self.server.base_dir / "pgbackrest"
        self.server.config_path = self.base
        self.restored: Path | None = None
        self.coordinates: PostgresCoordinates | None = None

    # --- set-up ----------------------------------------------------------------------------

    def start(self) -> None:
        self.coordinates = self.server.start()
        self.base.mkdir(mode=0o700)
        _for_server(self.base)
        self._write_config()
        self.pgbackrest("stanza-create")
        self.pgbackrest("check")
        keyset = self.base / "keys" / "master.json"
        create_master_keyset(keyset)
        _run([sys.executable, "-m", "afspraak.cli", "migrate", "--no-input", "-v", "0"],
             "migrate", self.environment(keyset))  # fmt: skip
        self.keyset = keyset

    def _write_config(self) -> None:
        """Write the deployed configuration with repo2 a plain copy of the encrypted repo1."""
        assert self.coordinates is not None
        write_config(self.base, self.server, self.coordinates.port, None, plain_second=True)

    def environment(self, keyset: Path) -> dict[str, str]:
        """Return the environment of an ``afspraak`` command on this server and stanza."""
        assert self.coordinates is not None
        return {
            "PATH": "/usr/bin:/bin:/usr/sbin:/sbin",
            "DJANGO_SETTINGS_MODULE": "afspraak.settings",
            "AFSPRAAK_VAR_DIR": str(self.base / "var"),
            "AFSPRAAK_MASTER_KEYSET_FILE": str(keyset),
            "AFSPRAAK_MASTER_KEY_URI": "",
            "AFSPRAAK_LOG_LEVEL": "warning",
            "AFSPRAAK_PGBACKREST_CONFIG_PATH": str(self.base),
            "AFSPRAAK_PGBACKREST_STANZA": STANZA,
            "AFSPRAAK_PG_BIN_DIR": str(self.server.bin_dir),
            # The drill's scratch clusters go in the server's directory too.
            "AFSPRAAK_PGBACKREST_SCRATCH_DIR": str(self.server.base_dir),
            **self.coordinates.environ(),
        }

    def pgbackrest(self, *arguments: str) -> str:
        return _run(
            [*as_server_user(), "pgbackrest", f"--config-path={self.base}", f"--stanza={STANZA}",
             *arguments],
            f"pgbackrest {arguments[0]}",
        )  # fmt: skip

    def superuser(self, sql: str) -> str:
        """Run ``sql`` as the cluster's superuser (peer sign-in over its socket, as pgBackRest)."""
        assert self.coordinates is not None
        return _run(
            [*as_server_user(), str(self.server.bin_dir / "psql"), "-X", "-At",
             "-h", str(self.server.base_dir), "-p", str(self.coordinates.port),
             "-d", DATABASE_NAME, "-v", "ON_ERROR_STOP=1", "-c", sql],
            "psql",
        ).strip()  # fmt: skip

    def owner(self, port: int | None = None) -> psycopg.Connection[Any]:
        assert self.coordinates is not None
        kwargs = self.coordinates.connection_kwargs("owner", DATABASE_NAME)
        return psycopg.connect(**(kwargs | ({"port": port} if port else {})), autocommit=True)

    # --- the data --------------------------------------------------------------------------

    def generate(self, megabytes: int) -> int:
        """Fill bench_booking to about ``megabytes``; return the database's size in bytes."""
        self.superuser("CREATE EXTENSION pgcrypto")
        with self.owner() as connection:
            # The migrated schema counts towards the size.
            [[schema]] = connection.execute(
                "SELECT pg_database_size(current_database())"
            ).fetchall()
            rows = max(megabytes * 1_000_000 - schema, 0) // BYTES_PER_ROW
            connection.execute(TABLE)
            for first in range(1, rows + 1, BATCH_ROWS):
                last = min(first + BATCH_ROWS - 1, rows)
                connection.execute(FILL, {"first": first, "last": last})
            for index in INDEXES:
                connection.execute(index)
            connection.execute("ANALYZE bench_booking")
            [[size]] = connection.execute("SELECT pg_database_size(current_database())").fetchall()
        return int(size)

    def wait_for_archiver(self) -> None:
        """Switch WAL and wait until every segment so far is archived (none left to push)."""
        segment = self.superuser("SELECT pg_walfile_name(pg_switch_wal())")
        wait_until(
            lambda: self.superuser("SELECT last_archived_wal FROM pg_stat_archiver") >= segment,
            what=f"archiving WAL up to {segment}",
            timeout=TIMEOUT,
            interval=0.5,
        )

    # --- measures --------------------------------------------------------------------------

    def time_backups(self) -> dict[int, tuple[float, float]]:
        """Take full backups into both repositories in turns; keep each one's best times."""
        times: dict[int, list[tuple[float, float]]] = {ENCRYPTED: [], PLAIN: []}
        for repository in _turns():
            started, cpu = time.perf_counter(), _children_cpu()
            self.pgbackrest("backup", f"--repo={repository}", "--type=full")
            times[repository].append((time.perf_counter() - started, _children_cpu() - cpu))
            print(f"  full backup to repo{repository}: {_seconds(times[repository][-1])}")
        return _best(times)

    def newest(self, repository: int) -> dict[str, Any]:
        [stanza] = json.loads(self.pgbackrest("info", "--output=json"))
        held = [b for b in stanza["backup"] if b["database"]["repo-key"] == repository]
        return dict(held[-1])

    def time_restores(self, labels: dict[int, str]) -> dict[int, tuple[float, float]]:
        """Restore each repository's newest backup in turns; keep each one's best times."""
        times: dict[int, list[tuple[float, float]]] = {ENCRYPTED: [], PLAIN: []}
        for repository in _turns():
            times[repository].append(self.time_restore(repository, labels[repository]))
            print(f"  restore from repo{repository}: {_seconds(times[repository][-1])}")
        return _best(times)

    def time_restore(self, repository: int, label: str) -> tuple[float, float]:
        """Restore ``label`` into a new data directory; seconds to a query answered on it.

        Also the CPU seconds of ``pgbackrest restore`` (decompression, decryption).
        """
        self.restored = self.server.base_dir / "restored"
        port = free_port()
        started = time.perf_counter()
        self.restored.mkdir(mode=0o700)
        _for_server(self.restored)
        try:
            cpu = _children_cpu()
            self.pgbackrest(
                "restore", f"--repo={repository}", f"--set={label}",
                f"--pg1-path={self.restored}", "--type=immediate", "--target-action=promote",
                "--archive-mode=off",
            )  # fmt: skip
            cpu = _children_cpu() - cpu
            _run(
                [*as_server_user(), str(self.server.bin_dir / "pg_ctl"), "-D", str(self.restored),
                 "-l", str(self.server.base_dir / "restored.log"), "-w", "-t", "600",
                 "-o", f"-p {port}", "start"],
                "starting the restored cluster",
            )  # fmt: skip
            # Usable once recovery has reached the backup's end and the server is promoted.
            query = "SELECT pg_is_in_recovery(), (SELECT max(id) FROM bench_booking)"

            def answers() -> bool:
                with contextlib.suppress(psycopg.OperationalError), self.owner(port) as connection:
                    [[recovering, newest]] = connection.execute(query).fetchall()
                    return not recovering and newest is not None
                return False

            wait_until(answers, what="the restored cluster", timeout=TIMEOUT, interval=0.05)
            return time.perf_counter() - started, cpu
        finally:
            self.stop_restored()

    def stop_restored(self) -> None:
        """Stop the restored cluster, if it runs, and remove its directory."""
        if self.restored is None:
            return
        if (self.restored / "postmaster.pid").exists():
            subprocess.run(  # noqa: S603 - fixed tool
                [*as_server_user(), str(self.server.bin_dir / "pg_ctl"), "-D",
                 str(self.restored), "-m", "immediate", "-w", "stop"],
                capture_output=True, check=False, cwd="/", timeout=120,
            )  # fmt: skip
        shutil.rmtree(self.restored, ignore_errors=True)
        self.restored = None

    def drill(self) -> dict[str, Any]:
        """Run ``afspraak backup drill``; return its report, a failed drill's too."""
        result = subprocess.run(
            [sys.executable, "-m", "afspraak.cli", "backup", "drill", "--json"],
            capture_output=True, text=True, check=False, cwd="/", timeout=TIMEOUT,
            env=self.environment(self.keyset),
        )  # fmt: skip
        try:
            return dict(json.loads(result.stdout))
        except ValueError:
            raise SystemExit(f"afspraak backup drill failed:\n{result.stderr[-3000:]}") from None

    # --- the end ---------------------------------------------------------------------------

    def stop(self) -> None:
        self.stop_restored()
        self.server.stop()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main() -> None:
    megabytes = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    signal.signal(signal.SIGTERM, _terminate)
    bench = Bench()
    try:
        bench.start()
        started = time.perf_counter()
        size = bench.generate(megabytes)
        print(f"database: {size / 1e6:.0f} MB generated in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        bench.wait_for_archiver()
        print(f"WAL of the generation archived after {time.perf_counter() - started:.1f} s more")
        best = bench.time_backups()
        sizes = {repository: bench.newest(repository) for repository in (ENCRYPTED, PLAIN)}
        restores = bench.time_restores({key: backup["label"] for key, backup in sizes.items()})
        drill = bench.drill()
    except KeyboardInterrupt:
        raise SystemExit("interrupted") from None
    finally:
        bench.stop()
    (encrypted, encrypted_cpu), (plain, plain_cpu) = best[ENCRYPTED], best[PLAIN]
    database = size / 1e6
    for name, repository in (("aes-256-cbc", ENCRYPTED), ("plain", PLAIN)):
        stored = sizes[repository]["info"]["repository"]["size"] / 1e6
        wall, _ = best[repository]
        print(
            f"full backup, {name:<11}  {_seconds(best[repository])} "
            f"({database / wall:.0f} MB/s), {stored:.0f} MB in repo{repository}"
        )
    backed_up, backed_up_cpu = encrypted / plain, encrypted_cpu / plain_cpu
    print(f"backup ratio encrypted / plain:  {backed_up:.2f} ({backed_up_cpu:.2f} CPU)")
    restored, restored_cpu = (
        restores[ENCRYPTED][0] / restores[PLAIN][0],
        restores[ENCRYPTED][1] / restores[PLAIN][1],
    )
    for name, repository in (("aes-256-cbc", ENCRYPTED), ("plain", PLAIN)):
        print(f"restore to a query answered (RTO), {name:<11} {_seconds(restores[repository])}")
    print(f"restore ratio encrypted / plain: {restored:.2f} ({restored_cpu:.2f} CPU)")
    print(f"drill passed: {drill['passed']}")
    for location, figures in drill["locations"].items():
        print(
            f"  drill {location}: RTO {figures.get('rto_seconds')} s, "
            f"RPO {figures.get('rpo_seconds')} s, problems {figures['problems']}"
        )
    figure("pg_backup", "full backup, aes-256-cbc / plain time", backed_up, "x")
    figure("pg_backup", "full backup, aes-256-cbc / plain CPU", backed_up_cpu, "x")
    figure("pg_backup", f"encrypted full backup of {database:.0f} MB", database / encrypted, "MB/s")
    figure("pg_backup", "restore from the encrypted repo (RTO)", restores[ENCRYPTED][0], "s")
    figure("pg_backup", "restore, aes-256-cbc / plain time", restored, "x")
    figure("pg_backup", "restore, aes-256-cbc / plain CPU", restored_cpu, "x")
    for location, figures in drill["locations"].items():
        if "rto_seconds" in figures:
            figure("pg_backup", f"drill RTO, {location}", figures["rto_seconds"], "s")
            figure("pg_backup", f"drill RPO, {location}", figures["rpo_seconds"], "s")
    if not drill["passed"]:
        raise SystemExit("the drill failed")


if __name__ == "__main__":
    main()

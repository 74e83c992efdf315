"""PostgreSQL backups: pgBackRest does the work; these functions drive it and read it.

pgBackRest (configured by ``deploy/pgbackrest/pgbackrest.conf``) archives every WAL
segment, keeps full and differential backups encrypted in two repositories and expires
them by time. Afspraak never reimplements any of it: ``run`` asks for a backup in each
repository (annotated with the deletion ledger's mark, see ``certification``), ``list``
reads ``pgbackrest info --output=json``, ``verify`` is ``pgbackrest verify``,
``restore`` is ``pgbackrest restore`` into a new data directory (to a point in time with
``--to-time``), ``prune`` is ``pgbackrest expire``. The drill restores each repository's
newest backup into a scratch cluster on a free port, starts it, checks it (its audit
chain too, through a temporary read-only Django connection) and stops it. pgBackRest
and ``pg_ctl`` run as the PostgreSQL system user when Afspraak runs as root; the checks
read both clusters as that user over their sockets (as pgBackRest does), because
row-level security hides tenant rows from Afspraak's own role.
"""

import configparser
import os
import pwd
import secrets
import shutil
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.backups.certification import (
    LEDGER_MARK_ANNOTATION,
    certify_deletions,
    ledger_mark_for_new_backup,
)
from afspraak.backups.drill import (
    KEY_TABLES,
    ROW_TOLERANCE_FIXED,
    ROW_TOLERANCE_FRACTION,
    record_drill,
    temporary_alias,
    verify_restored_chain,
)
from afspraak.backups.errors import BackupError
from afspraak.backups.pgbackrest_cli import run_pgbackrest, run_tool, stanza_info

_BACKUP_TIMEOUT = 6 * 3600
_START_TIMEOUT = 120


def _repositories(info: dict[str, Any]) -> list[int]:
    return sorted(int(repo["key"]) for repo in info.get("repo", []))


def _moment(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _listing(backup: dict[str, Any]) -> dict[str, Any]:
    """Return one pgBackRest backup as the listing the SQLite side shows."""
    return {
        "id": backup["label"],
        "created_at": _moment(backup["timestamp"]["stop"]).isoformat(),
        "type": backup["type"],
        "size": backup["info"]["repository"]["delta"],
        "database_size": backup["info"]["size"],
        "locations": [f"repo{backup['database']['repo-key']}"],
        "wal": [backup["archive"]["start"], backup["archive"]["stop"]],
    }


def list_pg_backups(info: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Return pgBackRest's complete backups in every repository, oldest first."""
    info = info if info is not None else stanza_info()
    backups = [_listing(backup) for backup in info.get("backup", []) if not backup.get("error")]
    return sorted(backups, key=lambda backup: (backup["created_at"], backup["locations"]))


def _backup_type(backups: list[dict[str, Any]], repository: int, *, full: bool) -> str:
    if full:
        return "full"
    fulls = [
        datetime.fromisoformat(backup["created_at"])
        for backup in backups
        if backup["type"] == "full" and backup["locations"] == [f"repo{repository}"]
    ]
    every = timedelta(hours=settings.AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS)
    if not fulls or timezone.now() - max(fulls) >= every:
        return "full"
    return str(settings.AFSPRAAK_PGBACKREST_PARTIAL_TYPE)


def run_pg_backup(context: AuditContext, *, full: bool = False) -> dict[str, Any]:
    """Have pgBackRest back up to each repository in turn; audit and return what it took."""
    stage = "info"
    taken: dict[str, str] = {}
    try:
        before = stanza_info()
        known = {backup["id"] for backup in list_pg_backups(before)}
        for repository in _repositories(before):
            stage = f"backup to repo{repository}"
            kind = _backup_type(list_pg_backups(before), repository, full=full)
            arguments = ["backup", f"--repo={repository}", f"--type={kind}"]
            # Which deletions this backup lacks, for their certification (control D2).
            mark = ledger_mark_for_new_backup()
            if mark is not None:
                arguments.append(f"--annotation={LEDGER_MARK_ANNOTATION}={mark}")
            run_pgbackrest(*arguments, timeout=_BACKUP_TIMEOUT)
            taken[f"repo{repository}"] = kind
        stage = "info"
        new = [backup for backup in list_pg_backups() if backup["id"] not in known]
    except BackupError as error:
        record(
            "backups.backup.failed",
            context=context,
            outcome=Outcome.FAILURE,
            data={"engine": "postgresql", "stage": stage, "succeeded": sorted(taken)},
        )
        raise BackupError(f"pgBackRest backup failed at {stage}: {error}") from None
    record(
        "backups.backup.completed",
        context=context,
        data={
            "engine": "postgresql",
            "backups": {backup["locations"][0]: backup["id"] for backup in new},
            "types": taken,
            "size": sum(backup["size"] for backup in new),
        },
    )
    # pgBackRest expired what its retention no longer needs after the backup.
    certify_deletions(context)
    return {"engine": "postgresql", "backups": new}


def verify_pg_backup(backup_id: str) -> dict[str, Any]:
    """Run ``pgbackrest verify`` on every repository holding ``backup_id``; return its listing."""
    held = [backup for backup in list_pg_backups() if backup["id"] == backup_id]
    if not held:
        raise BackupError(f"pgBackRest holds no complete backup {backup_id}")
    for backup in held:
        repository = backup["locations"][0].removeprefix("repo")
        run_pgbackrest("verify", f"--repo={repository}")
    return held[0] | {"locations": sorted(loc for backup in held for loc in backup["locations"])}


def prune_pg_backups(context: AuditContext) -> dict[str, list[str]]:
    """Have pgBackRest expire what its time-based retention no longer needs; audit it."""
    before = list_pg_backups()
    try:
        run_pgbackrest("expire")
    except BackupError as error:
        record(
            "backups.prune.failed",
            context=context,
            outcome=Outcome.FAILURE,
            data={"engine": "postgresql", "locations": ["pgbackrest"]},
        )
        raise BackupError(str(error)) from None
    remaining = {(backup["id"], backup["locations"][0]) for backup in list_pg_backups()}
    deleted: dict[str, list[str]] = {}
    for backup in before:
        location = backup["locations"][0]
        gone = (backup["id"], location) not in remaining
        deleted.setdefault(location, []).extend([backup["id"]] if gone else [])
    record(
        "backups.backup.pruned",
        context=context,
        data={"engine": "postgresql", "deleted": deleted},
    )
    certify_deletions(context)
    return deleted


# --- restore -----------------------------------------------------------------------------------


def _server_account() -> pwd.struct_passwd:
    if os.geteuid() == 0:
        return pwd.getpwnam(settings.AFSPRAAK_PGBACKREST_SYSTEM_USER)
    return pwd.getpwuid(os.geteuid())


def _give_to_server(path: Path) -> None:
    if os.geteuid() == 0:
        account = _server_account()
        os.chown(path, account.pw_uid, account.pw_gid)


def _new_directory_for_server(path: Path) -> None:
    path.mkdir(mode=0o700)
    _give_to_server(path)


def _restore_arguments(
    target: Path, backup_id: str | None, to_time: datetime | None, source: str | None
) -> list[str]:
    arguments = ["restore", f"--pg1-path={target}", "--archive-mode=off"]
    arguments += ["--target-action=promote"]
    if to_time is not None:
        arguments += ["--type=time", f"--target={to_time.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f+00}"]
    else:
        arguments += ["--type=immediate"]
    if backup_id is not None:
        arguments += [f"--set={backup_id}"]
    if source is not None:
        if not source.startswith("repo") or not source.removeprefix("repo").isdigit():
            raise BackupError(
                f"--from must name a pgBackRest repository (repo1, repo2), not {source!r}"
            )
        arguments += [f"--repo={source.removeprefix('repo')}"]
    return arguments


def restore_pg_backup(
    context: AuditContext,
    backup_id: str | None,
    target: Path,
    *,
    to_time: datetime | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Restore into the new data directory ``target`` (to ``to_time`` if given); audit it."""
    target = target.resolve()
    try:
        if target.exists() or target.is_symlink():
            raise BackupError(f"{target} exists: restore only into a new data directory")
        if not target.parent.is_dir():
            raise BackupError(f"{target.parent} is not a directory")
        arguments = _restore_arguments(target, backup_id, to_time, source)
        _new_directory_for_server(target)
        try:
            run_pgbackrest(*arguments, timeout=_BACKUP_TIMEOUT)
        except BackupError:
            shutil.rmtree(target, ignore_errors=True)
            raise
    except BackupError as error:
        record(
            "backups.restore.failed",
            context=context,
            outcome=Outcome.FAILURE,
            data={
                "engine": "postgresql",
                "backup": backup_id or "latest",
                "reason": str(error)[:200],
            },
        )
        raise
    record(
        "backups.restore.completed",
        context=context,
        data={
            "engine": "postgresql",
            "backup": backup_id or "latest",
            "to_time": to_time.isoformat() if to_time else None,
        },
    )
    return {"engine": "postgresql", "backup": backup_id or "latest", "restored_to": str(target)}


# --- the drill ---------------------------------------------------------------------------------


def _bin_dir() -> Path:
    if settings.AFSPRAAK_PG_BIN_DIR:
        return Path(settings.AFSPRAAK_PG_BIN_DIR)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise BackupError("no PostgreSQL server binaries found: set AFSPRAAK_PG_BIN_DIR")
    return found[-1].parent


def _live_socket() -> tuple[str, int]:
    """Return the live cluster's socket directory and port, as pgBackRest's stanza names them."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with (Path(settings.AFSPRAAK_PGBACKREST_CONFIG_PATH) / "pgbackrest.conf").open(
            encoding="utf-8"
        ) as config:
            parser.read_file(config)
    except OSError as error:
        raise BackupError(f"cannot read the pgBackRest configuration: {error}") from None
    section = settings.AFSPRAAK_PGBACKREST_STANZA
    stanza = parser[section] if parser.has_section(section) else {}
    return stanza.get("pg1-socket-path", "/var/run/postgresql"), int(stanza.get("pg1-port", "5432"))


def _query(socket_dir: str, port: int, sql: str) -> list[list[str]]:
    """Run ``sql`` as the PostgreSQL system user in Afspraak's database over a socket."""
    database = str(settings.DATABASES["default"]["NAME"])
    output = run_tool(
        [
            str(_bin_dir() / "psql"),
            "--no-psqlrc",
            "-X",
            "-At",
            "-F",
            "\t",
            "-h",
            socket_dir,
            "-p",
            str(port),
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        "psql",
    )
    return [line.split("\t") for line in output.splitlines()]


def _counts(socket_dir: str, port: int) -> dict[str, int]:
    selects = ", ".join(
        f'(SELECT count(*) FROM "{table}")'  # noqa: S608 - names of KEY_TABLES
        for table in KEY_TABLES
    )
    [row] = _query(socket_dir, port, f"SELECT {selects}")
    return dict(zip(KEY_TABLES, (int(value) for value in row), strict=True))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_scratch(data: Path, scratch: Path) -> int:
    port = _free_port()
    # Its socket is in the scratch directory, which only the server's user (and root)
    # can enter: trust there lets the drill read the copy as its superuser, past
    # row-level security, whatever the live cluster's pg_hba.conf says.
    hba = scratch / "pg_hba.conf"
    hba.write_text("local all all trust\n", encoding="utf-8")
    _give_to_server(hba)
    options = (
        f"-p {port} -c listen_addresses='' -c unix_socket_directories='{scratch}' "
        f"-c archive_mode=off -c hba_file='{hba}'"
    )
    run_tool(
        [
            str(_bin_dir() / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(scratch / "server.log"),
            "-w",
            "-t",
            str(_START_TIMEOUT),
            "-o",
            options,
            "start",
        ],
        "starting the scratch cluster",
        _START_TIMEOUT + 30,
    )
    deadline = time.monotonic() + _START_TIMEOUT
    # Recovery to the backup's end, then promotion: until then it is not usable.
    while _query(str(scratch), port, "SELECT pg_is_in_recovery()") != [["f"]]:
        if time.monotonic() > deadline:
            raise BackupError("the scratch cluster did not finish recovery in time")
        time.sleep(0.2)
    return port


def _stop_scratch(data: Path) -> None:
    if (data / "postmaster.pid").exists():
        try:
            run_tool(
                [str(_bin_dir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                "stop",
            )
        except BackupError:
            return


def _check_scratch(scratch: Path, port: int) -> tuple[list[str], dict[str, Any]]:
    problems = []
    applied = {
        tuple(row) for row in _query(str(scratch), port, "SELECT app, name FROM django_migrations")
    }
    missing = sorted(
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
        if (app, name) not in applied
    )
    if missing:
        problems.append(f"not at this code's migration head: {', '.join(missing[:5])} missing")
    restored = _counts(str(scratch), port)
    live = _counts(*_live_socket())
    key_tables = {}
    for table in KEY_TABLES:
        key_tables[table] = {"restored": restored[table], "live": live[table]}
        if (
            abs(restored[table] - live[table])
            > ROW_TOLERANCE_FIXED + ROW_TOLERANCE_FRACTION * live[table]
        ):
            problems.append(f"{table}: {restored[table]} rows restored, {live[table]} live")
    [[tables]] = _query(
        str(scratch), port, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    )
    chain_problem, chain_links = _verify_scratch_chain(scratch, port)
    if chain_problem:
        problems.append(chain_problem)
    return problems, {"tables": int(tables), "key_tables": key_tables, "chain_links": chain_links}


def _verify_scratch_chain(scratch: Path, port: int) -> tuple[str, int]:
    """Verify the restored cluster's audit chain under the live chain key, read-only."""
    superuser = {
        "HOST": str(scratch),
        "PORT": str(port),
        # The cluster's superuser, as psql signs in above: it reads past row-level security.
        "USER": _server_account().pw_name,
        "PASSWORD": "",
        "OPTIONS": {"options": "-c default_transaction_read_only=on"},
    }
    try:
        with temporary_alias(superuser) as alias:
            return verify_restored_chain(alias)
    except DatabaseError as error:
        return f"the audit chain could not be read: {str(error).strip()[:150]}", 0


def _drill_repository(repository: int, newest: dict[str, Any] | None) -> dict[str, Any]:
    figures: dict[str, Any] = {"backup": None, "problems": []}
    if newest is None:
        figures["problems"].append(f"repo{repository}: no complete backup to restore")
        return figures
    figures["backup"] = newest["id"]
    figures["rpo_seconds"] = round(
        (timezone.now() - datetime.fromisoformat(newest["created_at"])).total_seconds()
    )
    root = settings.AFSPRAAK_PGBACKREST_SCRATCH_DIR or tempfile.gettempdir()
    scratch = Path(root) / f"afspraak-drill-{secrets.token_hex(6)}"
    data = scratch / "data"
    started = time.monotonic()
    try:
        _new_directory_for_server(scratch)
        _new_directory_for_server(data)
        run_pgbackrest(
            *_restore_arguments(data, newest["id"], None, f"repo{repository}"),
            timeout=_BACKUP_TIMEOUT,
        )
        port = _start_scratch(data, scratch)
        problems, counts = _check_scratch(scratch, port)
        figures["rto_seconds"] = round(time.monotonic() - started, 3)
        figures["problems"] = [problem[:200] for problem in problems]
        figures |= counts
    except BackupError as error:
        figures["problems"].append(str(error)[:200])
    finally:
        _stop_scratch(data)
        shutil.rmtree(scratch, ignore_errors=True)
    return figures


def run_pg_drill(context: AuditContext) -> dict[str, Any]:
    """Restore each repository's newest backup into a scratch cluster, check it, audit it."""
    locations: dict[str, dict[str, Any]] = {}
    try:
        info = stanza_info()
    except BackupError as error:
        locations["pgbackrest"] = {"backup": None, "problems": [str(error)[:200]]}
    else:
        backups = list_pg_backups(info)
        for repository in _repositories(info):
            held = [b for b in backups if b["locations"] == [f"repo{repository}"]]
            locations[f"repo{repository}"] = _drill_repository(
                repository, held[-1] if held else None
            )
    report = {
        "engine": "postgresql",
        "passed": bool(locations) and all(not f["problems"] for f in locations.values()),
        "locations": locations,
    }
    record_drill(context, report)
    return report

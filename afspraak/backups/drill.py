"""Restore drills of the embedded (SQLite) installation: a backup counts once it restored.

A drill takes the newest backup of *each* location, restores it into a scratch directory
(``AFSPRAAK_BACKUP_DIR/.drill``) exactly as ``afspraak backup restore`` would — checksum,
authenticated decryption, ``quick_check``, no newer schema — and then checks the copy:
SQLite's full ``integrity_check``, ``foreign_key_check``, every migration of this code
applied, the row count of every table equal to what the backup recorded, and the key
tables' counts close to the live database's, and the audit chain of the copy verified
under the live chain key (read through a temporary, read-only database alias: nothing
of the copy, its outbox included, is delivered). It records RTO (seconds to a checked
restore) and RPO (age of the newest backup), audits ``backups.drill.passed`` or
``backups.drill.failed`` (a detection rule raises an alert on the latter), and removes
the scratch copy. The audit trail is the drill history; ``afspraak backup status`` shows
the last one.
"""

import fcntl
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.migrations.loader import MigrationLoader
from django.db.utils import load_backend
from django.utils import timezone

from afspraak.audit.chain import ChainKeyMissingError, verify_chain
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.backups import snapshot
from afspraak.backups.backup import decrypt_backup_into
from afspraak.backups.errors import BackupError
from afspraak.backups.locations import Location, configured_locations
from afspraak.backups.manifests import created_at_of, read_manifest

DRILL_PASSED = "backups.drill.passed"
DRILL_FAILED = "backups.drill.failed"
# The tables whose restored row counts must be close to the live ones: what a customer
# would miss first. Writes since the backup explain a gap of a few rows, not more.
KEY_TABLES = (
    "tenancy_organization",
    "tenancy_membership",
    "accounts_user",
    "scheduling_meetingtype",
    "bookings_booking",
    "bookings_invitee",
)
ROW_TOLERANCE_FIXED = 10
ROW_TOLERANCE_FRACTION = 0.10
_PROBLEM_CHARS = 200


@contextmanager
def scratch_directory() -> Iterator[Path]:
    """Give a fresh private directory for one drill, removed after it (also a killed one's)."""
    root = Path(settings.AFSPRAAK_BACKUP_DIR) / ".drill"
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (root / ".lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("another restore drill is in progress") from None
        # Holding the lock, whatever else is here is a killed drill's: restored plaintext.
        for leftover in root.iterdir():
            if leftover.name != ".lock":
                shutil.rmtree(leftover, ignore_errors=True)
        scratch = root / secrets.token_hex(8)
        scratch.mkdir(mode=0o700)
        try:
            yield scratch
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            fcntl.flock(lock, fcntl.LOCK_UN)


def record_drill(context: AuditContext, report: dict[str, Any]) -> None:
    """Audit a drill's outcome with its figures (ids and counts only)."""
    passed = report["passed"]
    record(
        DRILL_PASSED if passed else DRILL_FAILED,
        context=context,
        outcome=Outcome.SUCCESS if passed else Outcome.FAILURE,
        data={key: report[key] for key in ("engine", "locations")},
    )


def run_sqlite_drill(context: AuditContext) -> dict[str, Any]:
    """Restore and check the newest backup of every location; audit and return the figures."""
    locations: dict[str, dict[str, Any]] = {}
    with scratch_directory() as scratch:
        for location in configured_locations():
            locations[location.name] = _drill_location(location, scratch)
    report = {
        "engine": "sqlite",
        "passed": all(not figures["problems"] for figures in locations.values()),
        "locations": locations,
    }
    record_drill(context, report)
    return report


def _newest_backup(location: Location) -> dict[str, Any] | None:
    dated = []
    for backup_id in location.backup_ids():
        manifest = read_manifest(location, backup_id)
        created = created_at_of(manifest) if manifest is not None else None
        if manifest is not None and created is not None:
            dated.append((created, manifest))
    return max(dated, key=lambda pair: pair[0])[1] if dated else None


def _drill_location(location: Location, scratch: Path) -> dict[str, Any]:
    figures: dict[str, Any] = {"backup": None, "problems": []}
    try:
        newest = _newest_backup(location)
    except BackupError as error:
        figures["problems"].append(str(error)[:_PROBLEM_CHARS])
        return figures
    if newest is None:
        figures["problems"].append(f"{location.name}: no complete backup to restore")
        return figures
    figures["backup"] = newest["id"]
    created = created_at_of(newest)
    if created is None:
        figures["problems"].append(f"{location.name}: backup {newest['id']} has no date")
        return figures
    figures["rpo_seconds"] = round((timezone.now() - created).total_seconds())
    target = scratch / f"{location.name}.sqlite3"
    started = time.monotonic()
    try:
        manifest = decrypt_backup_into(newest["id"], target, location.name)
        problems, counts = check_restored_database(target, manifest)
    except BackupError as error:
        figures["problems"].append(str(error)[:_PROBLEM_CHARS])
        return figures
    figures["rto_seconds"] = round(time.monotonic() - started, 3)
    figures["problems"] = [problem[:_PROBLEM_CHARS] for problem in problems]
    figures |= counts
    return figures


def check_restored_database(
    path: Path, manifest: dict[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """Return what is wrong with the restored SQLite database ``path``, and its figures."""
    problems: list[str] = []
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (integrity,) = database.execute("PRAGMA integrity_check(1)").fetchone()
        if integrity != "ok":
            problems.append(f"SQLite's integrity check failed: {integrity}")
        dangling = database.execute("PRAGMA foreign_key_check").fetchall()
        if dangling:
            tables = sorted({row[0] for row in dangling})
            problems.append(f"{len(dangling)} rows break foreign keys in {', '.join(tables)}")
    finally:
        database.close()
    applied = snapshot.applied_migrations(path)
    missing = sorted(
        f"{app}.{name}"
        for app, name in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
        if (app, name) not in applied
    )
    if missing:
        problems.append(f"not at this code's migration head: {', '.join(missing[:5])} missing")
    restored = snapshot.describe(path)["row_counts"]
    recorded = manifest.get("row_counts", {})
    differing = sorted(
        table
        for table in set(restored) | set(recorded)
        if restored.get(table) != recorded.get(table)
    )
    if differing:
        problems.append(
            f"row counts differ from what the backup recorded: {', '.join(differing[:5])}"
        )
    key_tables = {}
    for table in KEY_TABLES:
        live = _live_count(table)
        copy = int(restored.get(table, 0))
        key_tables[table] = {"restored": copy, "live": live}
        if abs(copy - live) > ROW_TOLERANCE_FIXED + ROW_TOLERANCE_FRACTION * live:
            problems.append(f"{table}: {copy} rows restored, {live} live")
    chain_problem, chain_links = _verify_restored_chain(path)
    if chain_problem:
        problems.append(chain_problem)
    counts = {
        "tables": len(restored),
        "rows": sum(restored.values()),
        "key_tables": key_tables,
        "chain_links": chain_links,
    }
    return problems, counts


@contextmanager
def temporary_alias(overrides: dict[str, Any]) -> Iterator[str]:
    """Give a temporary database alias: the default database's settings with ``overrides``."""
    alias = f"afspraak_drill_{secrets.token_hex(4)}"
    settings_dict = {
        **connections[DEFAULT_DB_ALIAS].settings_dict,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": False,
        **overrides,
    }
    # A connection of this thread only, outside DATABASES: nothing else (routers, the
    # outbox, other threads) can find the copy through it.
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    connections[alias] = wrapper
    try:
        yield alias
    finally:
        wrapper.close()
        del connections[alias]


def verify_restored_chain(alias: str) -> tuple[str, int]:
    """Return what breaks the audit chain of the copy behind ``alias`` ("" if intact), and links."""
    try:
        report = verify_chain(using=alias)
    except ChainKeyMissingError as error:
        return f"the audit chain could not be verified: {error}", 0
    if report.intact:
        return "", report.links_checked
    return f"the audit chain of the copy is broken: {report.first_break}", report.links_checked


def _verify_restored_chain(path: Path) -> tuple[str, int]:
    read_only = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": f"file:{path}?mode=ro",
        "OPTIONS": {"uri": True},
    }
    with temporary_alias(read_only) as alias:
        return verify_restored_chain(alias)


def _live_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - a name of KEY_TABLES
        (count,) = cursor.fetchone()
    return int(count)

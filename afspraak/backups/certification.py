"""Certify deletions permanently deleted once no backup could still hold them (control D2).

A backup could hold the data of a deletion unless its copy of the database already
holds the deletion's ledger record: the record is written in the deletion's own
transaction, and each manifest notes the newest record its copy holds
(``deletion_ledger_mark``). A folder without a readable manifest (a killed run's
leftover) could hold anything. So a record is certified once no location keeps a
backup whose mark is below the record's id, nor a leftover; prune removes both, and
certification runs after every prune. A location that cannot be read certifies
nothing, nor does a missing directory (an unmounted volume).

On PostgreSQL the same question is asked of pgBackRest (``pgbackrest info
--output=json``), per repository. Each backup Afspraak asks for carries the annotation
``afspraak-deletion-ledger-mark``: the newest ledger record committed before it started
(read under a SHARE lock on the ledger, which waits for every transaction inserting a
record, so every id up to it is committed). A backup without it (taken by hand) could
hold anything. WAL could hold the data too: every segment before the first backup that
started after the deletion does (PostgreSQL switches to a new segment when a backup
starts), so a repository is clean once its oldest archived segment is at or after that
backup's first one. pgBackRest's expiry removes both, after each backup and prune, and
certification runs then. A repository whose status is not ok certifies nothing.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import DeletionRecord
from afspraak.audit.trail import record
from afspraak.backups.errors import BackupError
from afspraak.backups.locations import DirectoryLocation, Location, configured_locations
from afspraak.backups.manifests import created_at_of, read_manifest
from afspraak.backups.pgbackrest_cli import stanza_info

LEDGER_MARK_ANNOTATION = "afspraak-deletion-ledger-mark"
# A deletion waiting for the ledger's SHARE lock only delays the backup's mark this long;
# past it the backup carries no mark and counts as holding every deletion.
_MARK_LOCK_TIMEOUT = "30s"
# pgBackRest's repository status: 0 ok, 2 readable but holding no valid backup yet.
_READABLE = (0, 2)


@dataclass
class _Holding:
    """What one location keeps that could hold deleted data: backups' marks and expiry."""

    backups: list[tuple[int, datetime | None]] = field(default_factory=list)
    leftovers: int = 0
    error: str = ""


def _survey(location: Location) -> _Holding:
    holding = _Holding()
    if isinstance(location, DirectoryLocation) and not location.root.is_dir():
        # An unmounted volume lists nothing, which must not pass for "nothing is left".
        holding.error = f"{location.root} is not a directory"
        return holding
    try:
        for backup_id in sorted(location.backup_ids()):
            manifest = read_manifest(location, backup_id)
            if manifest is None:
                holding.leftovers += 1
                continue
            # A manifest from before the ledger existed holds no mark: it could hold anything.
            mark = manifest.get("deletion_ledger_mark")
            holding.backups.append((mark if isinstance(mark, int) else 0, created_at_of(manifest)))
    except (BackupError, OSError) as error:
        holding.error = str(error)[:200]
    return holding


def _reasons(entry: DeletionRecord, surveys: dict[str, _Holding]) -> list[str]:
    """Return why ``entry`` cannot be certified yet (nothing when it can)."""
    retention = timedelta(days=settings.AFSPRAAK_BACKUP_RETENTION_DAYS)
    reasons = []
    for name, holding in surveys.items():
        if holding.error:
            reasons.append(f"the {name} location could not be read: {holding.error}")
            continue
        before = [created for mark, created in holding.backups if mark < entry.pk]
        if before:
            times = [created for created in before if created is not None]
            until = (
                f"until {(max(times) + retention):%Y-%m-%d %H:%M} UTC"
                if len(times) == len(before)
                else "until the next prune (one has no valid time)"
            )
            count = len(before)
            noun = "backup taken" if count == 1 else "backups taken"
            reasons.append(
                f"{count} {noun} before the deletion remain{'s' if count == 1 else ''} "
                f"in the {name} location {until}"
            )
        if holding.leftovers:
            reasons.append(
                f"{holding.leftovers} incomplete backup folder(s) remain in the {name} "
                "location until the next prune"
            )
    return reasons


def _surveys() -> dict[str, _Holding]:
    return {location.name: _survey(location) for location in configured_locations()}


def ledger_mark_for_new_backup() -> int | None:
    """Return the newest ledger record a backup starting now surely holds (None: unknown)."""
    table = connection.ops.quote_name(DeletionRecord._meta.db_table)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{_MARK_LOCK_TIMEOUT}'")
            # SHARE conflicts with the inserts' ROW EXCLUSIVE: it waits for every open
            # transaction writing a record, so no id below the mark commits after it.
            cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
            mark = DeletionRecord.objects.aggregate(mark=Max("pk"))["mark"]
    except DatabaseError:
        return None
    return int(mark or 0)


@dataclass
class _PgBackup:
    label: str
    mark: int
    started: datetime
    database: int
    first_wal: str


@dataclass
class _PgRepository:
    """What one pgBackRest repository keeps: its backups and the oldest WAL per database."""

    backups: list[_PgBackup] = field(default_factory=list)
    oldest_wal: dict[int, str] = field(default_factory=dict)
    error: str = ""


def _pg_surveys() -> dict[str, _PgRepository]:
    try:
        return _read_pg_surveys(stanza_info())
    except BackupError as error:
        return {"pgBackRest": _PgRepository(error=str(error)[:200])}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        # An output this code does not understand proves nothing expired.
        return {"pgBackRest": _PgRepository(error=f"unexpected info output ({error!r})"[:200])}


def _read_pg_surveys(info: dict[str, Any]) -> dict[str, _PgRepository]:
    repositories: dict[int, _PgRepository] = {}
    for repo in info.get("repo", []):
        status = repo.get("status", {})
        repositories[int(repo["key"])] = _PgRepository(
            error=""
            if status.get("code") in _READABLE
            else str(status.get("message", "unknown status"))[:200]
        )
    if not repositories:
        return {"pgBackRest": _PgRepository(error="no repository is configured")}
    for backup in info.get("backup", []):
        mark = (backup.get("annotation") or {}).get(LEDGER_MARK_ANNOTATION, "")
        repositories[int(backup["database"]["repo-key"])].backups.append(
            _PgBackup(
                label=backup["label"],
                # No mark (a backup taken by hand): it could hold any deletion.
                mark=int(mark) if str(mark).isdigit() else 0,
                started=datetime.fromtimestamp(backup["timestamp"]["start"], tz=UTC),
                database=int(backup["database"]["id"]),
                first_wal=str(backup["archive"]["start"]),
            )
        )
    for archive in info.get("archive", []):
        if archive.get("min"):
            repository = repositories[int(archive["database"]["repo-key"])]
            repository.oldest_wal[int(archive["database"]["id"])] = str(archive["min"])
    return {f"repo{key}": repositories[key] for key in sorted(repositories)}


def _pg_reasons(entry: DeletionRecord, surveys: dict[str, _PgRepository]) -> list[str]:
    """Return why pgBackRest's repositories may still hold ``entry``'s data (nothing if not)."""
    reasons = []
    # The WAL stream is one: the first segment of any backup started after the deletion
    # begins after it, whichever repository holds that backup.
    clean_from: dict[int, str] = {}
    for repository in surveys.values():
        for backup in repository.backups:
            if backup.mark >= entry.pk:
                known = clean_from.get(backup.database)
                clean_from[backup.database] = min(known or backup.first_wal, backup.first_wal)
    for name, repository in surveys.items():
        if repository.error:
            reasons.append(f"{name} could not be read: {repository.error}")
            continue
        before = sorted(
            (backup for backup in repository.backups if backup.mark < entry.pk),
            key=lambda backup: backup.started,
        )
        if len(before) == 1:
            reasons.append(
                f"{name} still holds backup {before[0].label}, taken "
                f"{before[0].started:%Y-%m-%d %H:%M} UTC before the deletion"
            )
        elif before:
            reasons.append(
                f"{name} still holds {len(before)} backups taken before the deletion "
                f"({before[0].label} to {before[-1].label})"
            )
        for database, oldest in sorted(repository.oldest_wal.items()):
            clean = clean_from.get(database)
            if clean is None:
                reasons.append(
                    f"{name} still holds WAL from {oldest} on, and no backup taken after "
                    "the deletion shows where WAL without it begins"
                )
            elif oldest < clean:
                reasons.append(
                    f"{name} still holds WAL from {oldest} on, written before the first "
                    f"backup after the deletion (whose WAL starts at {clean})"
                )
    return reasons


def _reasons_for(entries: list[DeletionRecord]) -> dict[int, list[str]]:
    """Return, per ledger record, why no location nor repository lets it be certified yet."""
    if not entries:
        return {}
    if connection.vendor == "postgresql":
        pg_surveys = _pg_surveys()
        return {entry.pk: _pg_reasons(entry, pg_surveys) for entry in entries}
    surveys = _surveys()
    return {entry.pk: _reasons(entry, surveys) for entry in entries}


def certify_deletions(context: AuditContext) -> list[str]:
    """Certify every ledger record no backup could still hold; return their public ids."""
    pending = list(DeletionRecord.objects.filter(certified_at__isnull=True).order_by("pk"))
    reasons = _reasons_for(pending)
    certified = [entry for entry in pending if not reasons[entry.pk]]
    if not certified:
        return []
    DeletionRecord.objects.filter(pk__in=[entry.pk for entry in certified]).update(
        certified_at=timezone.now()
    )
    ids = [entry.public_id for entry in certified]
    record("backups.deletion.certified", context=context, data={"records": ids})
    return ids


def deletion_status() -> list[dict[str, Any]]:
    """Return each uncertified ledger record with the reasons it is not certified yet."""
    pending = list(DeletionRecord.objects.filter(certified_at__isnull=True).order_by("pk"))
    reasons = _reasons_for(pending)
    return [
        {
            "id": entry.public_id,
            "kind": entry.kind,
            "organization": entry.organization_public_id,
            "subjects": entry.subject_ids,
            "deleted_at": entry.deleted_at.isoformat(),
            "by": entry.actor_public_id,
            # Nothing holds it any more: the next prune certifies it.
            "reasons": reasons[entry.pk]
            or ["no backup holds it any more: the next prune certifies it"],
        }
        for entry in pending
    ]

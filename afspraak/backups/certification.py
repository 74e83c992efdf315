"""Certify deletions permanently deleted once no backup could still hold them (control D2).

A backup could hold the data of a deletion unless its copy of the database already
holds the deletion's ledger record: the record is written in the deletion's own
transaction, and each manifest notes the newest record its copy holds
(``deletion_ledger_mark``). A folder without a readable manifest (a killed run's
leftover) could hold anything. So a record is certified once no location keeps a
backup whose mark is below the record's id, nor a leftover; prune removes both, and
certification runs after every prune. A location that cannot be read certifies
nothing, nor does a missing directory (an unmounted volume). PostgreSQL's backups are
pgBackRest's and not examined here yet: on PostgreSQL nothing is certified, and
``deletion status`` says why.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import DeletionRecord
from afspraak.audit.trail import record
from afspraak.backups.errors import BackupError
from afspraak.backups.locations import DirectoryLocation, Location, configured_locations
from afspraak.backups.manifests import created_at_of, read_manifest

NOT_EXAMINED_ON_POSTGRESQL = (
    "PostgreSQL backups are kept by pgBackRest, which this check does not read yet: "
    "nothing is certified"
)


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


def certify_deletions(context: AuditContext) -> list[str]:
    """Certify every ledger record no backup could still hold; return their public ids."""
    pending = list(DeletionRecord.objects.filter(certified_at__isnull=True).order_by("pk"))
    if not pending or connection.vendor != "sqlite":
        return []
    surveys = _surveys()
    now = timezone.now()
    certified = [entry for entry in pending if not _reasons(entry, surveys)]
    if not certified:
        return []
    DeletionRecord.objects.filter(pk__in=[entry.pk for entry in certified]).update(certified_at=now)
    ids = [entry.public_id for entry in certified]
    record("backups.deletion.certified", context=context, data={"records": ids})
    return ids


def deletion_status() -> list[dict[str, Any]]:
    """Return each uncertified ledger record with the reasons it is not certified yet."""
    pending = list(DeletionRecord.objects.filter(certified_at__isnull=True).order_by("pk"))
    surveys = _surveys() if pending and connection.vendor == "sqlite" else {}
    return [
        {
            "id": entry.public_id,
            "kind": entry.kind,
            "organization": entry.organization_public_id,
            "subjects": entry.subject_ids,
            "deleted_at": entry.deleted_at.isoformat(),
            "by": entry.actor_public_id,
            "reasons": (
                _reasons(entry, surveys)
                if connection.vendor == "sqlite"
                else [NOT_EXAMINED_ON_POSTGRESQL]
            )
            # Nothing holds it any more: the next prune certifies it.
            or ["no backup holds it any more: the next prune certifies it"],
        }
        for entry in pending
    ]

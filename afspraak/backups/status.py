"""What operators and the security checks read about backups: freshness and the last drill.

``backup_status()`` is the one place to ask (``afspraak backup status --json`` prints it):
the engine, the newest complete backup with its age in seconds, and the last restore
drill (from the audit trail, which is the drill history).
"""

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from afspraak.audit.models import AuditEvent
from afspraak.backups import pgbackrest
from afspraak.backups.backup import list_backups
from afspraak.backups.drill import DRILL_FAILED, DRILL_PASSED


def last_drill() -> dict[str, Any] | None:
    """Return the newest restore drill's outcome, time and figures (None when none ran)."""
    event = (
        AuditEvent.objects.filter(action__in=(DRILL_PASSED, DRILL_FAILED))
        .order_by("-occurred_at", "-pk")
        .first()
    )
    if event is None:
        return None
    return {
        "passed": event.action == DRILL_PASSED,
        "at": event.occurred_at.isoformat(),
        "age_seconds": round((timezone.now() - event.occurred_at).total_seconds()),
        "locations": event.data.get("locations", {}),
    }


def backup_status() -> dict[str, Any]:
    """Return the engine, the newest complete backup (with its age) and the last drill."""
    if connection.vendor == "postgresql":
        engine, listing = "postgresql", pgbackrest.list_pg_backups()
    else:
        engine, listing = "sqlite", list_backups()
    newest = None
    if listing:
        last = listing[-1]
        age = timezone.now() - datetime.fromisoformat(last["created_at"])
        newest = {
            "id": last["id"],
            "created_at": last["created_at"],
            "age_seconds": round(age.total_seconds()),
            "locations": last["locations"],
        }
    return {"engine": engine, "newest_backup": newest, "last_drill": last_drill()}

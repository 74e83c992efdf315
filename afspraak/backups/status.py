"""What operators and the security checks read about backups: freshness and the last drill."""

from typing import Any

from django.utils import timezone

from afspraak.audit.models import AuditEvent
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

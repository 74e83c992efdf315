"""Reading the audit trail in the tenancy tests."""

from afspraak.audit.models import AuditEvent


def events(action: str, **filters) -> list[AuditEvent]:
    """Return the audit events with ``action`` (and ``filters``), oldest first."""
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("occurred_at", "id"))


def only_event(action: str, **filters) -> AuditEvent:
    """Return the one audit event with ``action``; fail if there is not exactly one."""
    found = events(action, **filters)
    assert len(found) == 1, f"expected one {action} event, found {len(found)}"
    return found[0]

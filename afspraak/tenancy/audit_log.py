"""An organization's own audit log: its events, filtered, and exported as CSV or JSON.

The page and the export read the same filtered events (``audit_events_for``), so an
export holds exactly what the page lists. An export is itself audited
(``tenancy.audit_log.exported``, with its format, filters and row count) before the
first row leaves, so the mass-export detection rule sees it.
"""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet

from afspraak.audit.models import AuditEvent
from afspraak.audit.trail import record
from afspraak.tenancy.access import Access
from afspraak.tenancy.roles import Permission

# What a person filters by, and the action codes each takes in (by their beginning).
CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "authentication": ("Logins and accounts", ("accounts.",)),
    "membership": (
        "Members and invitations",
        ("tenancy.member.", "tenancy.invitation.", "tenancy.offboarding."),
    ),
    "bookings": ("Bookings", ("bookings.",)),
    "scheduling": ("Meeting types and schedules", ("scheduling.",)),
    "settings": ("Organization settings", ("tenancy.organization.", "tenancy.security.")),
    "security": (
        "Security: refusals, keys, alerts, support access",
        ("tenancy.access.", "crypto.", "security.", "audit.", "compliance."),
    ),
}
EXPORT_FORMATS = ("csv", "json")
# Spreadsheet programs run a cell that starts so as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_EXPORT_CHUNK = 2000


@dataclass(frozen=True)
class AuditFilters:
    """What the page's filter form asks for; every part optional."""

    actor: str = ""
    action: str = ""
    category: str = ""
    since: date | None = None
    until: date | None = None

    def codes(self) -> dict[str, str]:
        """Return the filters given, as ids, codes and ISO dates (what an audit event may hold)."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "category": self.category,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: value for name, value in values.items() if value}


def category_of(action: str) -> str:
    """Return the category an action code belongs to ("" when none)."""
    for name, (_, prefixes) in CATEGORIES.items():
        if action.startswith(prefixes):
            return name
    return ""


def audit_events_for(access: Access, filters: AuditFilters) -> QuerySet[AuditEvent]:
    """Return the organization's audit events that match ``filters``, newest first."""
    access.require(Permission.VIEW_AUDIT_LOG)
    events = AuditEvent.objects.filter(organization=access.organization)
    if filters.actor:
        events = events.filter(actor_public_id=filters.actor)
    if filters.action:
        events = events.filter(action__startswith=filters.action)
    if filters.category:
        _, prefixes = CATEGORIES[filters.category]
        in_category = Q()
        for prefix in prefixes:
            in_category |= Q(action__startswith=prefix)
        events = events.filter(in_category)
    if filters.since:
        events = events.filter(occurred_at__gte=datetime.combine(filters.since, time(), UTC))
    if filters.until:
        end = datetime.combine(filters.until, time(), UTC) + timedelta(days=1)
        events = events.filter(occurred_at__lt=end)
    return events.order_by("-occurred_at", "-id")


def export_audit_log(access: Access, filters: AuditFilters, export_format: str) -> Iterator[str]:
    """Record the export, then return its rows as CSV or JSON text, a chunk at a time."""
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {export_format!r}")
    events = audit_events_for(access, filters)
    rows = events.count()
    exported = record(
        "tenancy.audit_log.exported",
        context=access.context,
        organization=access.organization,
        data={"format": export_format, "rows": rows, "filters": filters.codes()},
    )
    # The rows are read as the response streams, after this request's tenant context:
    # the trail is outside row-level security, and the query names the organization.
    # The export's own event (and anything after it) is not part of what was exported.
    rows_of = (
        events.filter(pk__lt=exported.pk).select_related("actor").iterator(chunk_size=_EXPORT_CHUNK)
    )
    return _csv_lines(rows_of) if export_format == "csv" else _json_chunks(rows_of)


_COLUMNS = (
    "occurred_at",
    "action",
    "category",
    "outcome",
    "actor_public_id",
    "actor_email",
    "target_type",
    "target_id",
    "ip_address",
    "user_agent",
    "source_pseudonym",
    "request_id",
    "data",
)


def _row(event: AuditEvent) -> dict[str, Any]:
    return {
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "action": event.action,
        "category": category_of(event.action),
        "outcome": event.outcome,
        "actor_public_id": event.actor_public_id,
        "actor_email": event.actor.email if event.actor is not None else "",
        "target_type": event.target_type,
        "target_id": event.target_id,
        "ip_address": event.ip_address or "",
        "user_agent": event.user_agent,
        "source_pseudonym": event.source_pseudonym,
        "request_id": event.request_id,
        "data": event.data,
    }


def _safe_cell(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _csv_lines(events: Iterator[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_COLUMNS)
    for event in events:
        row = _row(event)
        writer.writerow([_safe_cell(row[column]) for column in _COLUMNS])
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_chunks(events: Iterator[AuditEvent]) -> Iterator[str]:
    yield "["
    separator = "\n"
    for event in events:
        yield separator + json.dumps(_row(event), sort_keys=True)
        separator = ",\n"
    yield "\n]\n"

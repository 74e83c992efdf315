"""An organization's own audit log: its events, filtered, and exported as CSV or JSON.

The page and the export read the same filtered events (``audit_events_for``), so an
export holds exactly what the page lists. An export is itself audited
(``tenancy.audit_log.exported``, with its format, filters and row count) before the
first row leaves, so the mass-export detection rule sees it.
"""

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from string import Formatter
from typing import Any

from django.db.models import Q, QuerySet
from django.urls import reverse

from afspraak.accounts.models import User
from afspraak.audit.catalogue import ACTIONS
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
    "settings": (
        "Organization settings",
        ("tenancy.organization.", "tenancy.security.", "tenancy.branding.", "tenancy.embedding."),
    ),
    "security": (
        "Security: refusals, keys, API tokens, alerts, support access",
        ("tenancy.access.", "tenancy.api_token.", "crypto.", "security.", "audit.", "compliance."),
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
    # An export carries the whole log out at once (issue 9): only after the person
    # confirmed their password lately. An API token never counts as that.
    access.require(Permission.VIEW_AUDIT_LOG, reauthenticated=True)
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


# --- Reading the log: one sentence per event ---------------------------------------------


@dataclass(frozen=True)
class Named:
    """How the log names a person or an object: words, and the page about it if there is one."""

    label: str
    url: str = ""


# A higher app names its own objects for the log (bookings: a booking and its invitee),
# given the organization and the target ids of one page's events.
TargetNamer = Callable[[Any, set[str]], dict[str, Named]]
_target_namers: dict[str, TargetNamer] = {}
# Who acted, when an event has no member as actor but its target names a person (a
# booking's invitee); the namer returns the person's name keyed by the target id.
_actor_namers: dict[str, TargetNamer] = {}


def provide_target_namer(
    target_type: str, namer: TargetNamer, *, actor_namer: TargetNamer | None = None
) -> None:
    """Have ``namer`` name the targets of ``target_type`` (and ``actor_namer`` their people)."""
    _target_namers[target_type] = namer
    if actor_namer is not None:
        _actor_namers[target_type] = actor_namer


def mask_email(address: str) -> str:
    """Return ``address`` with its local part hidden but its first letter (``j…@example.com``)."""
    local, _, domain = address.partition("@")
    if not domain:
        return "…"
    return f"{local[:1]}…@{domain}"


# What each action reads as, after the actor's name; {placeholders} come from the event.
_SENTENCES: dict[str, str] = {
    "accounts.login.succeeded": "logged in",
    "accounts.login.failed": "failed to log in",
    "accounts.logout": "logged out",
    "accounts.mfa.added": "added a second factor",
    "accounts.mfa.removed": "removed their second factor",
    "accounts.password.changed": "changed their password",
    "accounts.profile.updated": "changed their name",
    "tenancy.organization.created": "created the organization",
    "tenancy.security.updated": "changed the security settings",
    "tenancy.branding.updated": "changed the branding (accent colour or logo)",
    "tenancy.embedding.updated": "changed the sites allowed to embed the booking pages",
    "tenancy.member.role_changed": "changed {user}'s role from {from} to {to}",
    "tenancy.member.removed": "removed {user} ({role})",
    "tenancy.member.left": "left the organization ({role})",
    "tenancy.invitation.created": "invited someone to join as {role}",
    "tenancy.invitation.revoked": "revoked an invitation",
    "tenancy.invitation.accepted": "accepted an invitation and joined as {role}",
    "tenancy.invitation.declined": "declined an invitation",
    "tenancy.invitation.refused": "could not accept an invitation ({reason})",
    "tenancy.access.denied": "was refused: {permission} ({reason})",
    "tenancy.api_token.created": "made an API token ({scope} scope, valid {days} days)",
    "tenancy.api_token.revoked": "revoked an API token of {user} ({trigger})",
    "tenancy.api_token.refused": "had an API token refused ({reason})",
    "tenancy.offboarding.sessions_ended": "had {count} session(s) ended",
    "tenancy.audit_log.exported": "exported the audit log as {format} ({rows} events)",
    "bookings.booking.created": "booked {target}",
    "bookings.booking.cancelled": "cancelled {target}",
    "bookings.booking.rescheduled": "rescheduled {target}",
    "bookings.booking.approved": "approved {target}",
    "bookings.booking.declined": "declined {target}",
    "security.member.suspended": "suspended {user} during a security incident",
    "security.containment.api_tokens_revoked": "revoked {count} API token(s) of {user} during "
    "a security incident",
    "security.member.suspension_lifted": "lifted {user}'s suspension",
}
_ROLE_WORDS = {"owner": "owner", "admin": "admin", "member": "member", "auditor": "auditor"}


@dataclass(frozen=True)
class LogLine:
    """One event as a person reads it: who, what (with links), when, how it ended."""

    event: AuditEvent
    actor: Named
    # The sentence in pieces: text, and people or objects that may link to their page.
    pieces: tuple[Named, ...]
    category: str


def readable_lines(access: Access, events: list[AuditEvent]) -> list[LogLine]:
    """Return ``events`` as sentences naming people and objects (a few queries for all)."""
    access.require(Permission.VIEW_AUDIT_LOG)
    organization = access.organization
    people = _people(access, events)
    by_type: dict[str, set[str]] = {}
    for event in events:
        if event.target_type and event.target_id:
            by_type.setdefault(event.target_type, set()).add(event.target_id)
    targets = {
        (kind, target_id): name
        for kind, ids in by_type.items()
        if kind in _target_namers
        for target_id, name in _target_namers[kind](organization, ids).items()
    }
    actors = {
        (kind, target_id): name
        for kind, ids in by_type.items()
        if kind in _actor_namers
        for target_id, name in _actor_namers[kind](organization, ids).items()
    }
    return [_line(event, people, targets, actors) for event in events]


def _people(access: Access, events: list[AuditEvent]) -> dict[str, Named]:
    """Return the people the events name (actors and ``data["user"]``), by public id."""
    wanted = {event.actor_public_id for event in events if event.actor_public_id}
    wanted |= {str(event.data["user"]) for event in events if event.data.get("user")}
    members_page = reverse("tenancy:members", args=[access.organization.slug])
    link = members_page if access.has(Permission.VIEW_MEMBERS) else ""
    return {
        user.public_id: Named(user.full_name or user.email, link)
        for user in User.objects.filter(public_id__in=wanted).only(
            "public_id", "full_name", "email"
        )
    }


def _line(
    event: AuditEvent,
    people: dict[str, Named],
    targets: dict[tuple[str, str], Named],
    actors: dict[tuple[str, str], Named],
) -> LogLine:
    key = (event.target_type, event.target_id)
    if event.actor_public_id:
        actor = people.get(event.actor_public_id, Named("a former user"))
    elif key in actors:
        actor = actors[key]
    elif event.source_pseudonym:
        actor = Named("a visitor")
    else:
        actor = Named("Afspraak (automatic)")
    sentence = _SENTENCES.get(event.action)
    if sentence is None:
        description = ACTIONS.get(event.action, event.action).rstrip(".")
        return LogLine(event, actor, (Named(f"— {description}"),), category_of(event.action))
    values: dict[str, Named] = {
        name: Named(_ROLE_WORDS.get(str(value), str(value)))
        for name, value in event.data.items()
        if isinstance(value, str | int) and not isinstance(value, bool)
    }
    if event.data.get("user"):
        values["user"] = people.get(str(event.data["user"]), Named("a former member"))
    values["target"] = targets.get(key, Named(event.target_type.rsplit(".", 1)[-1] or "it"))
    pieces: list[Named] = []
    for text, name, _, _ in Formatter().parse(sentence):
        if text:
            pieces.append(Named(text))
        if name is not None:
            pieces.append(values.get(name, Named("?")))
    return LogLine(event, actor, tuple(pieces), category_of(event.action))

"""Reviewing alerts and running incidents: the operator's staff, with a second factor, only.

A ``Reviewer`` is built once per request by ``reviewer_for_request``, which refuses (and
audits) anyone who is not staff, has no second factor, or did not use it to log in this
session (``security.console.refused``), and then a staff member who is not in good
standing — agreement, policy acknowledgement, training (P1, P2, O4) — with the staff
gate's reason and event (``tenancy.access.denied``; ``afspraak.tenancy.staff_standing``).
Every function here takes the reviewer first and checks it again, so a command or a
later API cannot skip the check. Each change is audited in its transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from afspraak.accounts.middleware import has_second_factor, is_staff_account
from afspraak.accounts.sessions import session_used_second_factor
from afspraak.audit.context import AuditContext
from afspraak.audit.models import (
    Alert,
    AlertStatus,
    Incident,
    IncidentNote,
    IncidentStatus,
    Outcome,
    Severity,
)
from afspraak.audit.trail import record
from afspraak.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    NotFoundError,
    ReauthenticationRequiredError,
)
from afspraak.publicid import new_public_id
from afspraak.tenancy.staff_standing import require_staff_standing

REASON_MAX_LENGTH = 2000
REAUTHENTICATE = "Confirm it is you (enter your password again) before a containment action."
# The order an incident moves through (docs/security/incident-response.md).
INCIDENT_FLOW = list(IncidentStatus)


class ConsoleRefusedError(ForbiddenError):
    """Someone who is not staff with a second factor asked for the security console."""


@dataclass(frozen=True)
class Reviewer:
    """A member of the operator's staff who logged in with a second factor."""

    user: Any
    context: AuditContext
    # Whether they confirmed their password lately: a flag, or a check asked only before
    # a containment action (it reads the session).
    reauthenticated: bool | Callable[[], bool] = False

    def is_reauthenticated(self) -> bool:
        """Tell whether the reviewer confirmed their identity again lately."""
        check = self.reauthenticated
        return check() if callable(check) else check


def refusal_reason(request: HttpRequest) -> str | None:
    """Return why ``request``'s user may not review (None when they may)."""
    user = request.user
    if not is_staff_account(user) or not user.is_active:
        return "not_staff"
    if not has_second_factor(user):
        return "no_second_factor"
    if not session_used_second_factor(request):
        return "session_without_second_factor"
    return None


def reviewer_for_request(request: HttpRequest) -> Reviewer:
    """Return the signed-in reviewer of ``request``; refuse and audit anyone else."""
    context = AuditContext.from_request(request)
    reason = refusal_reason(request)
    view = getattr(request.resolver_match, "view_name", "")
    if reason is not None:
        record(
            "security.console.refused",
            context=context,
            outcome=Outcome.DENIED,
            data={"reason": reason, "view": view},
        )
        raise ConsoleRefusedError(
            "The security console is for the operator's staff, logged in with their second factor."
        )
    # Every console page shows or changes customer data (members' addresses, organization
    # names, alert evidence): a staff member out of standing reaches none of it.
    require_staff_standing(request.user, context, page=view)
    return Reviewer(
        user=request.user,
        context=context,
        reauthenticated=lambda: did_recently_reauthenticate(request),
    )


def require_reviewer(reviewer: Reviewer, *, reauthenticated: bool = False) -> None:
    """Refuse a reviewer who is no longer staff in good standing with a second factor.

    With ``reauthenticated``, also one who has not confirmed their password lately
    (audited; a page asks for it and carries on). Call it before the action's transaction.
    """
    if not is_staff_account(reviewer.user) or not has_second_factor(reviewer.user):
        raise ForbiddenError("Only staff with a second factor review alerts.")
    require_staff_standing(reviewer.user, reviewer.context)
    if reauthenticated and not reviewer.is_reauthenticated():
        record(
            "security.console.refused",
            context=reviewer.context,
            outcome=Outcome.DENIED,
            data={"reason": "reauthentication_required"},
        )
        raise ReauthenticationRequiredError(REAUTHENTICATE)


def _locked_alert(public_id: str) -> Alert:
    alert = Alert.objects.select_for_update().filter(public_id=public_id).first()
    if alert is None:
        raise NotFoundError("No such alert.")
    return alert


def acknowledge_alert(reviewer: Reviewer, public_id: str) -> Alert:
    """Acknowledge an open alert: a reviewer is on it (it stops counting as overdue)."""
    require_reviewer(reviewer)
    with transaction.atomic():
        alert = _locked_alert(public_id)
        if alert.status != AlertStatus.OPEN:
            raise ConflictError(f"This alert is already {alert.status}.")
        alert.status = AlertStatus.ACKNOWLEDGED
        alert.acknowledged_by = reviewer.user
        alert.acknowledged_at = timezone.now()
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        record(
            "audit.alert.acknowledged",
            context=reviewer.context,
            target=alert,
            data={"rule": alert.rule_id},
        )
    return alert


def close_alert(reviewer: Reviewer, public_id: str, reason: str) -> Alert:
    """Close an alert after review, saying why it needs nothing more."""
    require_reviewer(reviewer)
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX_LENGTH:
        raise DomainError(f"Say why the alert is closed (at most {REASON_MAX_LENGTH} characters).")
    with transaction.atomic():
        alert = _locked_alert(public_id)
        if alert.status == AlertStatus.CLOSED:
            raise ConflictError("This alert is already closed.")
        now = timezone.now()
        if alert.acknowledged_at is None:
            alert.acknowledged_by, alert.acknowledged_at = reviewer.user, now
        alert.status = AlertStatus.CLOSED
        alert.closed_by, alert.closed_at, alert.close_reason = reviewer.user, now, reason
        alert.save()
        # The reason is free text and may name people: it stays in the alert, not the trail.
        record(
            "audit.alert.closed",
            context=reviewer.context,
            target=alert,
            data={"rule": alert.rule_id, "incident": None},
        )
    return alert


def declare_incident(reviewer: Reviewer, public_id: str, *, severity: str, title: str) -> Incident:
    """Declare an incident from an alert; the reviewer owns it and the alert is closed into it."""
    require_reviewer(reviewer)
    if severity not in Severity.values:
        raise DomainError(f"Choose a severity: {', '.join(Severity.values)}.")
    title = " ".join(title.split())
    if not title or len(title) > 120:
        raise DomainError("Give the incident a title of at most 120 characters.")
    with transaction.atomic():
        alert = _locked_alert(public_id)
        if alert.status == AlertStatus.CLOSED:
            raise ConflictError("This alert is closed: reopen nothing, declare from a new one.")
        now = timezone.now()
        incident = Incident.objects.create(
            public_id=new_public_id("inc"),
            title=title,
            severity=severity,
            owner=reviewer.user,
            organization_public_id=alert.organization_public_id,
            declared_at=now,
        )
        IncidentNote.objects.create(
            incident=incident,
            author=reviewer.user,
            status=IncidentStatus.DETECTED,
            text=f"Declared from alert {alert.public_id} ({alert.rule_id}).",
        )
        if alert.acknowledged_at is None:
            alert.acknowledged_by, alert.acknowledged_at = reviewer.user, now
        alert.status = AlertStatus.CLOSED
        alert.closed_by, alert.closed_at = reviewer.user, now
        alert.close_reason = f"Incident {incident.public_id} declared."
        alert.incident = incident
        alert.save()
        record(
            "audit.incident.declared",
            context=reviewer.context,
            target=incident,
            data={"alert": alert.public_id, "severity": severity},
        )
        record(
            "audit.alert.closed",
            context=reviewer.context,
            target=alert,
            data={"rule": alert.rule_id, "incident": incident.public_id},
        )
    return incident


def update_incident(reviewer: Reviewer, public_id: str, *, status: str, note: str) -> Incident:
    """Move an incident to ``status`` (forward only, one step or more) with a timeline note."""
    require_reviewer(reviewer)
    note = note.strip()
    if not note or len(note) > REASON_MAX_LENGTH:
        raise DomainError(
            f"Write a note for the timeline (at most {REASON_MAX_LENGTH} characters)."
        )
    if status not in IncidentStatus.values:
        raise DomainError("Choose a status of the incident's flow.")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(public_id=public_id).first()
        if incident is None:
            raise NotFoundError("No such incident.")
        current, wanted = IncidentStatus(incident.status), IncidentStatus(status)
        if INCIDENT_FLOW.index(wanted) < INCIDENT_FLOW.index(current):
            raise ConflictError(f"An incident moves forward only; it is {current} already.")
        if current == IncidentStatus.CLOSED:
            raise ConflictError("This incident is closed.")
        IncidentNote.objects.create(
            incident=incident, author=reviewer.user, status=wanted, text=note
        )
        incident.status = wanted
        if wanted == IncidentStatus.CLOSED:
            incident.closed_at = timezone.now()
        incident.save(update_fields=["status", "closed_at"])
        record(
            "audit.incident.updated",
            context=reviewer.context,
            target=incident,
            data={"from": current.value, "to": wanted.value},
        )
    return incident

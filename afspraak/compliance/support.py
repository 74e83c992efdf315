"""Staff support access (control O1): asked for one organization, approved, time-bound, audited.

A staff member asks with a reason and a duration (at most ``SUPPORT_MAX_HOURS``); the
organization's owners approve or refuse it, or a second staff member does when the
organization chose that (``SupportPolicy``). Once approved the grant opens the
organization's pages read-only (``tenancy.access.access_for_support_grant``) until it
expires or is revoked; every page opened through it is recorded in the organization's
audit log (``compliance.support.page_viewed``).
"""

from datetime import timedelta
from typing import Any

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from afspraak.accounts.middleware import is_staff_account
from afspraak.accounts.sessions import session_used_second_factor
from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record
from afspraak.compliance.models import Approver, GrantState, SupportGrant, SupportPolicy
from afspraak.compliance.standing import standing_refusal
from afspraak.compliance.support_mail import queue_outcome_mail, queue_request_mails
from afspraak.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from afspraak.tenancy.access import Access, access_for_support_grant
from afspraak.tenancy.models import Organization
from afspraak.tenancy.roles import Permission

GRANT_NOT_FOUND = "No such support request."
STAFF_ONLY = "Support access is for the operator's staff only."


def support_max_hours() -> int:
    """Return the longest a support grant may run, in hours (never more than eight)."""
    return min(int(settings.AFSPRAAK_SUPPORT_MAX_HOURS), 8)


def approver_of(organization: Organization) -> str:
    """Return who approves support access to ``organization`` (its owners by default)."""
    policy = SupportPolicy.objects.filter(organization=organization).first()
    return policy.approver if policy is not None else Approver.OWNER


def _event_data(grant: SupportGrant, **extra: Any) -> dict[str, Any]:
    return {"grant": grant.public_id, "staff": grant.staff.public_id, **extra}


def request_support_access(
    context: AuditContext, organization: Organization, *, reason: str, hours: int
) -> SupportGrant:
    """Ask, as a staff member, for read access to ``organization`` for ``hours``."""
    staff = context.actor
    if staff is None or not is_staff_account(staff):
        raise ForbiddenError(STAFF_ONLY)
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why you need access.")
    if not 1 <= hours <= support_max_hours():
        raise DomainError(f"Support access lasts from 1 to {support_max_hours()} hours.")
    with transaction.atomic():
        grant = SupportGrant.objects.create(
            organization=organization,
            staff=staff,
            reason=reason,
            duration_minutes=hours * 60,
            approver=approver_of(organization),
        )
        record(
            "compliance.support.requested",
            context=context,
            organization=organization,
            target=grant,
            data=_event_data(grant, hours=hours, approver=grant.approver),
        )
        queue_request_mails(grant)
    return grant


def _require_same_organization(access: Access, grant: SupportGrant) -> None:
    if grant.organization_id != access.organization.pk:
        raise NotFoundError(GRANT_NOT_FOUND)


def _lock_pending(grant: SupportGrant) -> SupportGrant:
    locked = SupportGrant.objects.select_for_update().select_related("staff").get(pk=grant.pk)
    if locked.state != GrantState.REQUESTED:
        raise ConflictError("This request was already decided.")
    return locked


def _decide(context: AuditContext, grant: SupportGrant, *, approve: bool) -> SupportGrant:
    now = timezone.now()
    locked = _lock_pending(grant)
    locked.state = GrantState.APPROVED if approve else GrantState.DENIED
    locked.decided_by = context.actor
    locked.decided_at = now
    if approve:
        locked.expires_at = now + timedelta(minutes=locked.duration_minutes)
    locked.save(update_fields=["state", "decided_by", "decided_at", "expires_at"])
    record(
        "compliance.support.approved" if approve else "compliance.support.denied",
        context=context,
        organization=locked.organization,
        target=locked,
        data=_event_data(locked),
    )
    queue_outcome_mail(locked, decided_by=context.actor)
    return locked


def decide_support_grant(access: Access, grant: SupportGrant, *, approve: bool) -> SupportGrant:
    """Approve or refuse, as the organization's owner, a staff member's request."""
    access.require(Permission.MANAGE_SUPPORT_ACCESS, reauthenticated=approve)
    _require_same_organization(access, grant)
    # The organization's choice as it stands now, not as it was when the request came in.
    if approver_of(access.organization) != Approver.OWNER:
        raise ConflictError("A second staff member decides this request, not the organization.")
    with transaction.atomic():
        return _decide(access.context, grant, approve=approve)


def decide_support_grant_as_staff(
    context: AuditContext, grant: SupportGrant, *, approve: bool
) -> SupportGrant:
    """Approve or refuse, as a second staff member, another staff member's request."""
    staff = context.actor
    if staff is None or not is_staff_account(staff):
        raise ForbiddenError(STAFF_ONLY)
    if approver_of(grant.organization) != Approver.STAFF:
        raise ConflictError("The organization's owners decide this request.")
    if grant.staff_id == staff.pk:
        raise ForbiddenError("A second staff member must decide: not the one who asked.")
    if approve and (reason := standing_refusal(staff)) is not None:
        # Whoever opens customer data to a colleague must be cleared to see it themselves.
        raise ForbiddenError(f"You cannot approve support access now ({reason}).")
    with transaction.atomic():
        return _decide(context, grant, approve=approve)


def _revoke(context: AuditContext, grant: SupportGrant, **event_data: Any) -> SupportGrant:
    with transaction.atomic():
        locked = SupportGrant.objects.select_for_update().select_related("staff").get(pk=grant.pk)
        if locked.state not in (GrantState.REQUESTED, GrantState.APPROVED):
            raise ConflictError("This support access has already ended.")
        locked.state = GrantState.REVOKED
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["state", "revoked_at"])
        record(
            "compliance.support.revoked",
            context=context,
            organization=locked.organization,
            target=locked,
            data=_event_data(locked, **event_data),
        )
        queue_outcome_mail(locked, decided_by=context.actor)
    return locked


def end_support_grants_of(context: AuditContext, staff: Any, trigger: str) -> None:
    """Revoke every support grant ``staff`` holds or asked for (their account is deactivated)."""
    # Locked, so none is decided or ended meanwhile (that would fail the deactivation);
    # a grant whose hours are over has ended by itself and keeps its history.
    open_grants = SupportGrant.objects.select_for_update().filter(
        Q(state=GrantState.REQUESTED) | Q(state=GrantState.APPROVED, expires_at__gt=timezone.now()),
        staff_id=staff.pk,
    )
    for grant in open_grants:
        _revoke(context, grant, trigger=trigger)


def revoke_support_grant(access: Access, grant: SupportGrant) -> SupportGrant:
    """End, as the organization's owner, a staff member's support access at once."""
    access.require(Permission.MANAGE_SUPPORT_ACCESS)
    _require_same_organization(access, grant)
    return _revoke(access.context, grant)


def revoke_support_grant_as_staff(context: AuditContext, grant: SupportGrant) -> SupportGrant:
    """End, as staff (the holder or a colleague), a support access at once."""
    if context.actor is None or not is_staff_account(context.actor):
        raise ForbiddenError(STAFF_ONLY)
    return _revoke(context, grant)


def set_support_approver(access: Access, approver: str) -> SupportPolicy:
    """Choose who approves staff support access to the organization: owners or staff."""
    access.require(Permission.MANAGE_SUPPORT_ACCESS, reauthenticated=True)
    if approver not in Approver.values:
        raise DomainError(f"Unknown approver {approver!r}.")
    with transaction.atomic():
        policy, _ = SupportPolicy.objects.update_or_create(
            organization=access.organization,
            defaults={"approver": approver, "updated_at": timezone.now()},
        )
        record(
            "compliance.support.approver_changed",
            context=access.context,
            organization=access.organization,
            data={"approver": approver},
        )
    return policy


def support_grants_of(access: Access) -> QuerySet[SupportGrant]:
    """Return the organization's support requests and grants, newest first."""
    access.require(Permission.MANAGE_SUPPORT_ACCESS)
    return (
        SupportGrant.objects.filter(organization=access.organization)
        .select_related("staff", "decided_by")
        .order_by("-requested_at", "-id")
    )


def get_support_grant_for(access: Access, public_id: str) -> SupportGrant:
    """Return the organization's support grant ``public_id``, or 404."""
    access.require(Permission.MANAGE_SUPPORT_ACCESS)
    grant = (
        SupportGrant.objects.filter(organization=access.organization, public_id=public_id)
        .select_related("staff", "organization")
        .first()
    )
    if grant is None:
        raise NotFoundError(GRANT_NOT_FOUND)
    return grant


def get_grant_for_staff(staff: Any, public_id: str) -> SupportGrant:
    """Return any support grant ``public_id`` to a staff member, or 404 for anyone else."""
    grant = None
    if is_staff_account(staff):
        grant = (
            SupportGrant.objects.filter(public_id=public_id)
            .select_related("staff", "organization")
            .first()
        )
    if grant is None:
        raise NotFoundError(GRANT_NOT_FOUND)
    return grant


def active_grant(staff: Any, organization: Organization) -> SupportGrant | None:
    """Return ``staff``'s active support grant to ``organization``, if any."""
    return (
        SupportGrant.objects.filter(
            staff_id=staff.pk,
            organization=organization,
            state=GrantState.APPROVED,
            expires_at__gt=timezone.now(),
        )
        .order_by("-expires_at")
        .first()
    )


def support_access_source(
    request: HttpRequest, organization: Organization, permission: Permission
) -> Access | None:
    """Return a staff member's read-only access from their active grant, recording the view."""
    user = request.user
    if not user.is_authenticated or not is_staff_account(user):
        return None
    if not session_used_second_factor(request):
        # As on every staff page: a session opened with a password alone reaches no data.
        return None
    grant = active_grant(user, organization)
    if grant is None:
        return None
    access = access_for_support_grant(
        organization,
        grant.public_id,
        AuditContext.from_request(request),
        # An export asks staff, too, to confirm their identity first (issue 9).
        reauthenticated=lambda: did_recently_reauthenticate(request),
    )
    # Refused (a write, a lapsed training) before anything is shown, and audited by the edge.
    access.require(permission)
    record(
        "compliance.support.page_viewed",
        context=access.context,
        organization=organization,
        target=grant,
        data={"grant": grant.public_id, "path": request.path, "permission": str(permission)},
    )
    return access

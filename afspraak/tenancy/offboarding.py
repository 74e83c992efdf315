"""Offboarding (control O1): when someone loses access, it ends at once, everywhere.

Removing a member or deactivating a user ends every session the user has (on every
device: ending all of them is the safe, simple choice even when only one
organization removed them), revokes the pending invitations they sent or received
there and revokes their API tokens there (everywhere, for a deactivated user). Each
step writes its own audit event, in the same transaction as the change. A deactivated
user's access that another app keeps (a staff member's support grants, in compliance,
which tenancy cannot import) ends in a step that app registers.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record
from afspraak.tenancy.access import Access, access_for_system, memberships_of
from afspraak.tenancy.api_tokens import revoke_api_tokens_of
from afspraak.tenancy.models import Invitation, addressed_to
from afspraak.tenancy.roles import Permission

# A step another app adds to a user's deactivation: given the context, the user and the
# trigger to record, it ends what it keeps, in the deactivation's transaction.
DeactivationStep = Callable[[AuditContext, Any, str], None]
_deactivation_steps: dict[str, DeactivationStep] = {}


def register_deactivation_step(name: str, step: DeactivationStep) -> None:
    """Add a step every ``deactivate_user`` runs after tenancy's own."""
    _deactivation_steps[name] = step


@dataclass(frozen=True)
class OffboardingSummary:
    organizations: int
    sessions: int
    invitations: int


def end_user_sessions(context: AuditContext, user: Any, *, trigger: str) -> int:
    """End every session of ``user`` on every device; return how many ended."""
    count = 0
    # allauth records every signed-in session (at login and on each request), so its
    # list is the complete list of the user's sessions.
    for user_session in UserSession.objects.filter(user=user):
        user_session.end()
        count += 1
    record(
        "tenancy.offboarding.sessions_ended",
        context=context,
        target=user,
        data={"count": count, "trigger": trigger},
    )
    return count


def revoke_pending_invitations_of(access: Access, user: Any, *, trigger: str) -> int:
    """Revoke the organization's pending invitations sent by or addressed to ``user``."""
    if access.actor != user:
        # Someone leaving may withdraw their own; anyone else's need member management.
        access.require(Permission.MANAGE_MEMBERS)
    organization = access.organization
    addresses = {user.email.lower()} | {
        address.lower()
        for address in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    }
    now = timezone.now()
    count = 0
    with access.scope():
        pending = Invitation.objects.select_for_update().filter(
            Q(invited_by=user) | addressed_to(organization, addresses),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            declined_at__isnull=True,
            expires_at__gt=now,
        )
        for invitation in pending:
            invitation.revoked_at = now
            invitation.save(update_fields=["revoked_at"])
            record(
                "tenancy.invitation.revoked",
                context=access.context,
                organization=organization,
                target=invitation,
                data={"trigger": trigger, "user": user.public_id},
            )
            count += 1
    return count


def offboard_member(access: Access, user: Any) -> OffboardingSummary:
    """Cut a removed member off: their invitations there and all their sessions."""
    trigger = "member_removed"
    with transaction.atomic():
        invitations = revoke_pending_invitations_of(access, user, trigger=trigger)
        revoke_api_tokens_of(access, user, trigger=trigger)
        sessions = end_user_sessions(access.context, user, trigger=trigger)
    return OffboardingSummary(organizations=1, sessions=sessions, invitations=invitations)


def deactivate_user(context: AuditContext, user: Any, *, reason: str) -> OffboardingSummary:
    """Deactivate ``user`` and cut every access they have, in every organization, at once."""
    reason = reason.strip()
    if not reason:
        raise ValueError("a reason for the deactivation is required")
    if "@" in reason:
        # The reason is kept in the audit trail, which holds no personal data.
        raise ValueError("the reason must not contain an e-mail address")
    trigger = "user_deactivated"
    with transaction.atomic():
        was_active = user.is_active
        user.is_active = False
        user.save(update_fields=["is_active"])
        record(
            "tenancy.offboarding.user_deactivated",
            context=context,
            target=user,
            data={"reason": reason[:200], "was_active": was_active},
        )
        memberships = memberships_of(user)
        invitations = 0
        for membership in memberships:
            access = access_for_system(membership.organization, context)
            invitations += revoke_pending_invitations_of(access, user, trigger=trigger)
            revoke_api_tokens_of(access, user, trigger=trigger)
        sessions = end_user_sessions(context, user, trigger=trigger)
        for step in _deactivation_steps.values():
            step(context, user, trigger)
    return OffboardingSummary(
        organizations=len(memberships), sessions=sessions, invitations=invitations
    )

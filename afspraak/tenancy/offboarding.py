"""Offboarding (control O1): when someone loses access, it ends at once, everywhere.

Removing a member or deactivating a user ends every session the user has (on every
device: ending all of them is the safe, simple choice even when only one
organization removed them), revokes the pending invitations they sent or received
there, and revokes their API tokens through the revokers registered below. Each
step writes its own audit event, in the same transaction as the change.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from afspraak.audit.trail import record
from afspraak.tenancy.access import memberships_of
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Invitation, Organization, addressed_to

TokenRevoker = Callable[[Any, Organization | None], int]

# Revokers of API credentials, by name: each takes (user, organization or None for every
# organization) and returns how many credentials it revoked. The accounts app registers
# its token revoker here when API tokens exist; until then the list is empty and the
# offboarding records that no revoker ran.
_TOKEN_REVOKERS: dict[str, TokenRevoker] = {}


def register_token_revoker(name: str, revoker: TokenRevoker) -> None:
    """Have offboarding call ``revoker`` to revoke a leaving user's API credentials."""
    _TOKEN_REVOKERS[name] = revoker


def registered_token_revokers() -> dict[str, TokenRevoker]:
    """Return the registered token revokers by name."""
    return dict(_TOKEN_REVOKERS)


@dataclass(frozen=True)
class OffboardingSummary:
    organizations: int
    sessions: int
    invitations: int
    tokens: int


def end_user_sessions(
    *, actor: Any, user: Any, trigger: str, request: HttpRequest | None = None
) -> int:
    """End every session of ``user`` on every device; return how many ended."""
    count = 0
    # allauth records every signed-in session (at login and on each request), so its
    # list is the complete list of the user's sessions.
    for user_session in UserSession.objects.filter(user=user):
        user_session.end()
        count += 1
    record(
        "tenancy.offboarding.sessions_ended",
        actor=actor,
        target=user,
        request=request,
        data={"count": count, "trigger": trigger},
    )
    return count


def revoke_pending_invitations_of(
    *,
    actor: Any,
    organization: Organization,
    user: Any,
    trigger: str,
    request: HttpRequest | None = None,
) -> int:
    """Revoke the organization's pending invitations sent by or addressed to ``user``."""
    addresses = {user.email.lower()} | {
        address.lower()
        for address in EmailAddress.objects.filter(user=user).values_list("email", flat=True)
    }
    now = timezone.now()
    count = 0
    with organization_context(organization):
        pending = Invitation.objects.select_for_update().filter(
            Q(invited_by=user) | addressed_to(organization, addresses),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        )
        for invitation in pending:
            invitation.revoked_at = now
            invitation.save(update_fields=["revoked_at"])
            record(
                "tenancy.invitation.revoked",
                actor=actor,
                organization=organization,
                target=invitation,
                request=request,
                data={"trigger": trigger, "user": user.public_id},
            )
            count += 1
    return count


def revoke_api_tokens(
    *,
    actor: Any,
    user: Any,
    organization: Organization | None,
    trigger: str,
    request: HttpRequest | None = None,
) -> int:
    """Revoke ``user``'s API credentials (for one organization, or all); return how many."""
    revokers = registered_token_revokers()
    count = sum(revoker(user, organization) for revoker in revokers.values())
    record(
        "tenancy.offboarding.tokens_revoked",
        actor=actor,
        organization=organization,
        target=user,
        request=request,
        data={"count": count, "revokers": sorted(revokers), "trigger": trigger},
    )
    return count


def offboard_member(
    *, actor: Any, organization: Organization, user: Any, request: HttpRequest | None = None
) -> OffboardingSummary:
    """Cut a removed member off: their invitations there, their tokens, all their sessions."""
    trigger = "member_removed"
    with transaction.atomic():
        invitations = revoke_pending_invitations_of(
            actor=actor, organization=organization, user=user, trigger=trigger, request=request
        )
        tokens = revoke_api_tokens(
            actor=actor, user=user, organization=organization, trigger=trigger, request=request
        )
        sessions = end_user_sessions(actor=actor, user=user, trigger=trigger, request=request)
    return OffboardingSummary(
        organizations=1, sessions=sessions, invitations=invitations, tokens=tokens
    )


def deactivate_user(
    *, actor: Any, user: Any, reason: str, request: HttpRequest | None = None
) -> OffboardingSummary:
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
            actor=actor,
            target=user,
            request=request,
            data={"reason": reason[:200], "was_active": was_active},
        )
        memberships = memberships_of(user)
        invitations = sum(
            revoke_pending_invitations_of(
                actor=actor,
                organization=membership.organization,
                user=user,
                trigger=trigger,
                request=request,
            )
            for membership in memberships
        )
        tokens = revoke_api_tokens(
            actor=actor, user=user, organization=None, trigger=trigger, request=request
        )
        sessions = end_user_sessions(actor=actor, user=user, trigger=trigger, request=request)
    return OffboardingSummary(
        organizations=len(memberships), sessions=sessions, invitations=invitations, tokens=tokens
    )

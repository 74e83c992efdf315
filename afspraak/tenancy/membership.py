"""Changes to who belongs to an organization, and with which role (control O1).

Rules the roles table alone cannot say: only owners touch owners (make one, demote
one, remove one), and an organization always keeps at least one owner.
"""

from typing import Any

from django.http import Http404, HttpRequest

from afspraak.audit.trail import record
from afspraak.tenancy.access import MEMBER_NOT_FOUND
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import NotAllowedError, RuleViolationError, TenancyError
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.offboarding import offboard_member, revoke_pending_invitations_of
from afspraak.tenancy.roles import Role, role_has_permission

LAST_OWNER = "An organization needs at least one owner: make someone else owner first."
ONLY_OWNERS_MANAGE_OWNERS = "Only an owner can make someone an owner, or change or remove an owner."


def acting_membership(actor: Any, permission: str | None = None) -> Membership:
    """Return the actor's membership in the active organization context, checking ``permission``."""
    membership = Membership.objects.filter(user=actor).first() if actor is not None else None
    if membership is None:
        raise NotAllowedError("You are not a member of this organization.")
    if permission is not None and not role_has_permission(membership.role, permission):
        raise NotAllowedError("Your role in this organization does not allow this.")
    return membership


def _locked_target(membership: Membership) -> Membership:
    target = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership.pk)
        .first()
    )
    if target is None:
        raise Http404(MEMBER_NOT_FOUND)
    return target


def _owner_count() -> int:
    # Locking the owner rows makes two owners demoting each other at once take turns.
    return len(Membership.objects.select_for_update().filter(role=Role.OWNER))


def change_member_role(
    *,
    actor: Any,
    organization: Organization,
    membership: Membership,
    role: str,
    request: HttpRequest | None = None,
) -> Membership:
    """Give a member another role."""
    if role not in Role.values:
        raise TenancyError("Choose one of the roles offered.")
    with organization_context(organization, user=actor):
        acting = acting_membership(actor, "can_manage_members")
        target = _locked_target(membership)
        if target.role == role:
            return target
        touches_owner = Role.OWNER in (target.role, role)
        if touches_owner and not role_has_permission(acting.role, "can_manage_owners"):
            raise NotAllowedError(ONLY_OWNERS_MANAGE_OWNERS)
        if target.role == Role.OWNER and _owner_count() <= 1:
            raise RuleViolationError(LAST_OWNER)
        previous = target.role
        target.role = role
        target.save(update_fields=["role"])
        record(
            "tenancy.member.role_changed",
            actor=actor,
            organization=organization,
            target=target,
            request=request,
            data={"user": target.user.public_id, "from": previous, "to": role},
        )
    return target


def remove_member(
    *,
    actor: Any,
    organization: Organization,
    membership: Membership,
    request: HttpRequest | None = None,
) -> None:
    """Remove a member and cut their access at once (sessions, invitations, tokens)."""
    with organization_context(organization, user=actor):
        acting = acting_membership(actor, "can_manage_members")
        target = _locked_target(membership)
        if target.pk == acting.pk:
            raise RuleViolationError(
                "To leave the organization yourself, use “Leave organization”."
            )
        if target.role == Role.OWNER:
            if not role_has_permission(acting.role, "can_manage_owners"):
                raise NotAllowedError(ONLY_OWNERS_MANAGE_OWNERS)
            if _owner_count() <= 1:
                raise RuleViolationError(LAST_OWNER)
        user = target.user
        record(
            "tenancy.member.removed",
            actor=actor,
            organization=organization,
            target=target,
            request=request,
            data={"user": user.public_id, "role": target.role},
        )
        target.delete()
        offboard_member(actor=actor, organization=organization, user=user, request=request)


def leave_organization(
    *, actor: Any, organization: Organization, request: HttpRequest | None = None
) -> None:
    """Leave an organization (its last owner cannot)."""
    with organization_context(organization, user=actor):
        acting = acting_membership(actor)
        if acting.role == Role.OWNER and _owner_count() <= 1:
            raise RuleViolationError(
                "You are the last owner: make someone else owner before you leave."
            )
        record(
            "tenancy.member.left",
            actor=actor,
            organization=organization,
            target=acting,
            request=request,
            data={"user": actor.public_id, "role": acting.role},
        )
        acting.delete()
        revoke_pending_invitations_of(
            actor=actor, organization=organization, user=actor, trigger="member_left"
        )

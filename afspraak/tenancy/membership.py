"""Changes to who belongs to an organization, and with which role (control O1).

Rules the roles table alone cannot say: only owners touch owners (make one, demote
one, remove one), and an organization always keeps at least one owner. Role changes
and removals need a recent re-authentication.
"""

from afspraak.audit.deletions import DeletedKind, note_deletion
from afspraak.audit.trail import record
from afspraak.errors import NotFoundError
from afspraak.tenancy.access import MEMBER_NOT_FOUND, Access
from afspraak.tenancy.api_tokens import revoke_api_tokens_of
from afspraak.tenancy.errors import RuleViolationError, TenancyError
from afspraak.tenancy.models import Membership
from afspraak.tenancy.offboarding import offboard_member, revoke_pending_invitations_of
from afspraak.tenancy.roles import Permission, Role

LAST_OWNER = "An organization needs at least one owner: make someone else owner first."


def _locked_target(membership: Membership) -> Membership:
    target = (
        Membership.objects.select_for_update()
        .select_related("user")
        .filter(pk=membership.pk)
        .first()
    )
    if target is None:
        raise NotFoundError(MEMBER_NOT_FOUND)
    return target


def _owner_count() -> int:
    # Locking the owner rows makes two owners demoting each other at once take turns.
    return len(Membership.objects.select_for_update().filter(role=Role.OWNER))


def _note_member_deleted(access: Access, membership_public_id: str, user_public_id: str) -> None:
    note_deletion(
        DeletedKind.MEMBER,
        organization_public_id=access.organization.public_id,
        subject_ids=[membership_public_id, user_public_id],
        context=access.context,
    )


def change_member_role(access: Access, membership: Membership, role: str) -> Membership:
    """Give a member another role."""
    if role not in Role.values:
        raise TenancyError("Choose one of the roles offered.")
    access.require(Permission.MANAGE_MEMBERS)
    with access.scope():
        target = _locked_target(membership)
        if target.role == role:
            return target
        if Role.OWNER in (target.role, role):
            access.require(Permission.MANAGE_OWNERS)
        if target.role == Role.OWNER and _owner_count() <= 1:
            raise RuleViolationError(LAST_OWNER)
        # Asked last, so nobody re-enters a password for a change that is refused anyway.
        access.require(Permission.MANAGE_MEMBERS, reauthenticated=True)
        previous = target.role
        target.role = role
        target.save(update_fields=["role"])
        record(
            "tenancy.member.role_changed",
            context=access.context,
            organization=access.organization,
            target=target,
            data={"user": target.user.public_id, "from": previous, "to": role},
        )
    return target


def remove_member(access: Access, membership: Membership) -> None:
    """Remove a member and cut their access at once (sessions and invitations)."""
    access.require(Permission.MANAGE_MEMBERS)
    with access.scope():
        target = _locked_target(membership)
        if access.membership is not None and target.pk == access.membership.pk:
            raise RuleViolationError(
                "To leave the organization yourself, use “Leave organization”."
            )
        if target.role == Role.OWNER:
            access.require(Permission.MANAGE_OWNERS)
            if _owner_count() <= 1:
                raise RuleViolationError(LAST_OWNER)
        access.require(Permission.MANAGE_MEMBERS, reauthenticated=True)
        user = target.user
        record(
            "tenancy.member.removed",
            context=access.context,
            organization=access.organization,
            target=target,
            data={"user": user.public_id, "role": target.role},
        )
        target.delete()
        _note_member_deleted(access, target.public_id, user.public_id)
        offboard_member(access, user)


def leave_organization(access: Access) -> None:
    """Leave an organization (its last owner cannot)."""
    acting = access.membership
    if acting is None:
        raise TenancyError("Only a member can leave an organization.")
    with access.scope():
        if acting.role == Role.OWNER and _owner_count() <= 1:
            raise RuleViolationError(
                "You are the last owner: make someone else owner before you leave."
            )
        record(
            "tenancy.member.left",
            context=access.context,
            organization=access.organization,
            target=acting,
            data={"user": access.actor.public_id, "role": acting.role},
        )
        Membership.objects.filter(pk=acting.pk).delete()
        _note_member_deleted(access, acting.public_id, access.actor.public_id)
        revoke_pending_invitations_of(access, access.actor, trigger="member_left")
        revoke_api_tokens_of(access, access.actor, trigger="member_left")

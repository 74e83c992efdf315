"""Access helpers: fetch tenant objects for a user, with one 404 for "missing" and "not yours".

Another organization's object and one that does not exist give the same ``Http404``
with the same message, in pages and API alike, so probing ids reveals nothing.
"""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django_scopes import scopes_disabled

from afspraak.tenancy.context import ORGANIZATION_NOT_FOUND, organization_context, user_context
from afspraak.tenancy.models import Invitation, Membership, Organization
from afspraak.tenancy.roles import role_has_permission

MEMBER_NOT_FOUND = "No such member."
INVITATION_NOT_FOUND = "No such invitation."
ROLE_FORBIDS = "Your role in this organization does not allow this."


def get_organization_for(user: Any, slug: str, permission: str | None = None) -> Membership:
    """Return ``user``'s membership of the organization ``slug`` (with ``permission``), or 404."""
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None or not getattr(user, "is_authenticated", False):
        raise Http404(ORGANIZATION_NOT_FOUND)
    with organization_context(organization, user=user):
        membership = Membership.objects.select_related("organization").filter(user=user).first()
    if membership is None:
        raise Http404(ORGANIZATION_NOT_FOUND)
    if permission is not None and not role_has_permission(membership.role, permission):
        raise PermissionDenied(ROLE_FORBIDS)
    return membership


def _acting_role(user: Any, organization: Organization) -> str:
    """Return ``user``'s role in the organization of the active context, or 404."""
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        raise Http404(ORGANIZATION_NOT_FOUND)
    return membership.role


def get_membership_for(
    user: Any, organization: Organization, public_id: str, *, write: bool = False
) -> Membership:
    """Return the member ``public_id`` of ``organization`` as ``user`` may see (or change) it."""
    with organization_context(organization, user=user):
        role = _acting_role(user, organization)
        needed = "can_manage_members" if write else "can_view_members"
        if not role_has_permission(role, needed):
            raise PermissionDenied(ROLE_FORBIDS)
        membership = (
            Membership.objects.select_related("user", "organization")
            .filter(public_id=public_id)
            .first()
        )
    if membership is None:
        raise Http404(MEMBER_NOT_FOUND)
    return membership


def get_invitation_for(user: Any, organization: Organization, public_id: str) -> Invitation:
    """Return the invitation ``public_id`` of ``organization`` if ``user`` manages members.

    Seeing and changing invitations need the same permission: they name people who
    are not members yet.
    """
    with organization_context(organization, user=user):
        role = _acting_role(user, organization)
        if not role_has_permission(role, "can_manage_members"):
            raise PermissionDenied(ROLE_FORBIDS)
        invitation = (
            Invitation.objects.select_related("organization").filter(public_id=public_id).first()
        )
    if invitation is None:
        raise Http404(INVITATION_NOT_FOUND)
    return invitation


def memberships_of(user: Any) -> list[Membership]:
    """Return ``user``'s own memberships in every organization, by organization name."""
    if not getattr(user, "is_authenticated", False):
        return []
    # A user's own memberships span organizations by nature. On PostgreSQL the database
    # shows only this user's rows (the own-rows policy); the filter says the same here.
    with user_context(user), scopes_disabled():
        return list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name", "organization__id")
        )


def organizations_require_mfa(user: Any) -> bool:
    """Tell whether any organization ``user`` belongs to requires MFA of its members."""
    return any(m.organization.require_mfa for m in memberships_of(user))


def organization_session_limit_hours(user: Any) -> int | None:
    """Return the shortest session lifetime (hours) ``user``'s organizations impose, if any."""
    limits = [
        m.organization.session_max_age_hours
        for m in memberships_of(user)
        if m.organization.session_max_age_hours
    ]
    return min(limits) if limits else None

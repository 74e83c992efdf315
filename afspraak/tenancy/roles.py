"""Roles, permissions and what each role may do: one table, default deny (control O1)."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    AUDITOR = "auditor", "Auditor"


class Permission(StrEnum):
    """What an actor may do in an organization; checked through ``Access.require``."""

    MANAGE_OWNERS = "can_manage_owners"
    DELETE_ORGANIZATION = "can_delete_organization"
    MANAGE_MEMBERS = "can_manage_members"
    VIEW_MEMBERS = "can_view_members"
    HOST = "can_host"
    MANAGE_MEETING_TYPES = "can_manage_meeting_types"
    VIEW_ALL_BOOKINGS = "can_view_all_bookings"
    MANAGE_INTEGRATIONS = "can_manage_integrations"
    MANAGE_SECURITY = "can_manage_security"
    VIEW_SECURITY = "can_view_security"
    VIEW_AUDIT_LOG = "can_view_audit_log"
    # Approving, refusing and revoking the operator's staff's support access.
    MANAGE_SUPPORT_ACCESS = "can_manage_support_access"
    # Creating and revoking one's own API tokens (every member; owners and admins revoke
    # anyone's through MANAGE_MEMBERS).
    MANAGE_OWN_API_TOKENS = "can_manage_own_api_tokens"
    # Anyone on an organization's public booking pages.
    BOOK_MEETING = "can_book_meeting"
    # The invitee, through the signed link to their own booking.
    CHANGE_OWN_BOOKING = "can_change_own_booking"


# Admins run the organization day to day; owners also manage owners and may delete it.
_ADMIN_PERMISSIONS = frozenset(
    {
        Permission.MANAGE_MEMBERS,
        Permission.VIEW_MEMBERS,
        Permission.HOST,
        Permission.MANAGE_MEETING_TYPES,
        Permission.VIEW_ALL_BOOKINGS,
        Permission.MANAGE_INTEGRATIONS,
        Permission.MANAGE_SECURITY,
        Permission.VIEW_SECURITY,
        Permission.VIEW_AUDIT_LOG,
        Permission.MANAGE_OWN_API_TOKENS,
    }
)
PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.OWNER: _ADMIN_PERMISSIONS
    | {
        Permission.MANAGE_OWNERS,
        Permission.DELETE_ORGANIZATION,
        Permission.MANAGE_SUPPORT_ACCESS,
    },
    Role.ADMIN: _ADMIN_PERMISSIONS,
    Role.MEMBER: frozenset({Permission.HOST, Permission.MANAGE_OWN_API_TOKENS}),
    Role.AUDITOR: frozenset(
        {
            Permission.VIEW_MEMBERS,
            Permission.VIEW_SECURITY,
            Permission.VIEW_AUDIT_LOG,
            Permission.MANAGE_OWN_API_TOKENS,
        }
    ),
}


def role_permissions(role: str) -> frozenset[Permission]:
    """Return what ``role`` may do; an unknown role may do nothing."""
    return PERMISSIONS.get(role, frozenset())


def role_has_permission(role: str, permission: str) -> bool:
    """Tell whether ``role`` grants ``permission``; an unknown role or permission is refused."""
    return permission in role_permissions(role)

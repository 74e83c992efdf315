"""Roles and what each may do: one table, default deny (control O1)."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    AUDITOR = "auditor", "Auditor"


PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(
        {
            "can_manage_owners",
            "can_delete_organization",
            "can_manage_members",
            "can_view_members",
            "can_host",
            "can_manage_meeting_types",
            "can_view_all_bookings",
            "can_manage_integrations",
            "can_manage_security",
            "can_view_security",
            "can_view_audit_log",
        }
    ),
    Role.ADMIN: frozenset(
        {
            "can_manage_members",
            "can_view_members",
            "can_host",
            "can_manage_meeting_types",
            "can_view_all_bookings",
            "can_manage_integrations",
            "can_manage_security",
            "can_view_security",
            "can_view_audit_log",
        }
    ),
    Role.MEMBER: frozenset({"can_host"}),
    Role.AUDITOR: frozenset({"can_view_members", "can_view_security", "can_view_audit_log"}),
}


def role_has_permission(role: str, permission: str) -> bool:
    """Tell whether ``role`` grants ``permission``; an unknown role or permission is refused."""
    return permission in PERMISSIONS.get(role, frozenset())

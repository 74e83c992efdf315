"""URL-by-role entries of the support-access pages (collected by the tenancy tests).

Only owners decide on support access to their organization (the issue: "approved by
the customer's owner"); the staff pages are in ``SUPPORT_STAFF``: staff only, others get 404.
"""

from afspraak.compliance.models import SupportGrant, SupportPolicy
from afspraak.tenancy.roles import Role
from afspraak.testing.factories import StaffUserFactory

OWNERS = frozenset({Role.OWNER})


def _nothing(tenants):
    return {}, {}


def _grant(tenants):
    staff = StaffUserFactory.create()
    return SupportGrant.objects.create(
        organization=tenants.a,
        staff=staff,
        reason="Ticket 1",
        duration_minutes=60,
        approver="owner",
    )


def _approver(tenants):
    return {}, {"approver": "staff"}


def _a_request_to_refuse(tenants):
    return {"grant_id": _grant(tenants).public_id}, {"decision": "deny"}


def _a_grant(tenants):
    return {"grant_id": _grant(tenants).public_id}, {}


MATRIX = {
    "compliance:support_requests": ("get", OWNERS, _nothing),
    "compliance:support_approver": ("post", OWNERS, _approver),
    "compliance:support_decide": ("post", OWNERS, _a_request_to_refuse),
    "compliance:support_revoke": ("get", OWNERS, _a_grant),
}

# Staff pages: (method, build(tenants, staff) -> (URL kwargs, POST data), status for staff).
SUPPORT_STAFF = {
    "compliance:staff_support": ("get", lambda tenants, staff: ({}, {}), 200),
    "compliance:staff_support_decide": (
        "post",
        lambda tenants, staff: (
            {"grant_id": _staff_approved_request(tenants)},
            {"decision": "deny"},
        ),
        302,
    ),
    "compliance:staff_support_revoke": (
        "post",
        lambda tenants, staff: ({"grant_id": _grant(tenants).public_id}, {}),
        302,
    ),
}


def _staff_approved_request(tenants):
    # The organization has chosen a second staff member to decide its requests.
    SupportPolicy.objects.update_or_create(organization=tenants.a, defaults={"approver": "staff"})
    grant = _grant(tenants)
    grant.approver = "staff"
    grant.save(update_fields=["approver"])
    return grant.public_id

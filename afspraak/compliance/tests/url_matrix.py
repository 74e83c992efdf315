"""URL-by-role entries of the support-access pages (collected by the tenancy tests).

Only owners decide on support access to their organization (the issue: "approved by
the customer's owner"); the staff pages are in ``SUPPORT_STAFF``: staff only, others get 404.
"""

from afspraak.audit.context import AuditContext
from afspraak.compliance.disclosure import submit_report
from afspraak.compliance.models import ReviewCampaign, ReviewItemKind, SupportGrant, SupportPolicy
from afspraak.compliance.reviews import open_campaign, start_review_campaign
from afspraak.compliance.tests.reviewing import make_security_reviewer
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


def _campaign() -> ReviewCampaign:
    return open_campaign() or start_review_campaign(AuditContext.system())


def _admins_review_item(tenants):
    item = _campaign().items.get(subject_public_id=tenants.admin.public_id)
    return {"item_id": item.public_id}, {}


def _staff_review_item(tenants, staff):
    # The visitor reviews a colleague's account: only security reviewers decide.
    colleague = StaffUserFactory.create()
    make_security_reviewer(staff)
    item = _campaign().items.filter(kind=ReviewItemKind.STAFF, user=colleague).first()
    if item is None:
        item = _campaign().items.create(
            kind=ReviewItemKind.STAFF,
            user=colleague,
            subject_public_id=colleague.public_id,
            access="Staff",
        )
    return {"item_id": item.public_id}, {}


MATRIX = {
    "compliance:subprocessor_notices": ("get", OWNERS, _nothing),
    "compliance:subprocessor_subscription": ("post", OWNERS, lambda t: ({}, {"subscribe": "yes"})),
    "compliance:access_review": ("get", OWNERS, _nothing),
    "compliance:access_review_confirm": ("post", OWNERS, _admins_review_item),
    "compliance:access_review_revoke": ("get", OWNERS, _admins_review_item),
    "compliance:support_requests": ("get", OWNERS, _nothing),
    "compliance:support_approver": ("post", OWNERS, _approver),
    "compliance:support_decide": ("post", OWNERS, _a_request_to_refuse),
    "compliance:support_revoke": ("get", OWNERS, _a_grant),
}


# Staff pages: (method, build(tenants, staff) -> (URL kwargs, POST data), status for staff).
def _a_report(tenants, staff):
    report = submit_report(
        AuditContext.system(), email="finder@example.test", summary="XSS", details="Steps"
    )
    return {"report_id": report.public_id}, {}


def _a_report_with_attachment(tenants, staff):
    report = submit_report(
        AuditContext.system(),
        email="finder@example.test",
        summary="XSS",
        details="Steps",
        attachment_name="poc.html",
        attachment=b"<script>alert(1)</script>",
    )
    return {"report_id": report.public_id}, {}


SUPPORT_STAFF = {
    "compliance:staff_disclosures": ("get", lambda tenants, staff: ({}, {}), 200),
    "compliance:staff_disclosure": ("get", _a_report, 200),
    "compliance:staff_disclosure_attachment": ("get", _a_report_with_attachment, 200),
    "compliance:staff_pentests": ("get", lambda tenants, staff: ({}, {}), 200),
    "compliance:staff_access_review": ("get", lambda tenants, staff: ({}, {}), 200),
    "compliance:staff_access_review_confirm": ("post", _staff_review_item, 302),
    "compliance:staff_access_review_revoke": ("post", _staff_review_item, 302),
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


# The staff pages that show and change no customer data, so a staff member out of good
# standing still opens them (the others answer 403): why each holds none.
STAFF_WITHOUT_CUSTOMER_DATA = {
    "compliance:staff_support": "their own requests and standing, and the form to ask; "
    "colleagues' requests are hidden until they are in standing",
    "compliance:staff_support_revoke": "ending or withdrawing a grant only closes access",
    "compliance:staff_pentests": "the operator's own pentest findings",
}


def _staff_approved_request(tenants):
    # The organization has chosen a second staff member to decide its requests.
    SupportPolicy.objects.update_or_create(organization=tenants.a, defaults={"approver": "staff"})
    grant = _grant(tenants)
    grant.approver = "staff"
    grant.save(update_fields=["approver"])
    return grant.public_id


# Public by design: what each page is for, and the test that checks it.
PUBLIC = {
    "compliance:security_txt": "security.txt (RFC 9116; compliance/tests/test_disclosure.py)",
    "compliance:security_txt_legacy": "the old /security.txt address, redirected (test_disclosure)",
    "compliance:disclosure": "the vulnerability disclosure policy (test_disclosure)",
    "compliance:disclosure_report": "the public vulnerability report form, rate-limited "
    "(test_disclosure)",
    "compliance:trust": "the trust page: live figures, counts only (test_trust.py)",
    "compliance:subprocessors": "the published subprocessor register (control V1; "
    "compliance/tests/test_subprocessors.py)",
}

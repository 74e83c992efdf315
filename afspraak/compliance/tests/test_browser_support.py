"""The support-access pages in Chromium at 1280 px and on a 390 px phone: the staff member's
request page and list, the staff approval list, the owners' approval page and settings, and
the confirmations before approving and ending an access. They fit, are axe clean and break
no CSP."""

import pytest

from afspraak.audit.context import AuditContext
from afspraak.compliance.models import Approver, SupportPolicy
from afspraak.compliance.support import decide_support_grant, request_support_access
from afspraak.compliance.tests.staffing import staff_member, visit_pages
from afspraak.testing.access import member_access
from afspraak.testing.browser import DESKTOP, PHONE
from afspraak.testing.tenants import create_tenants

pytestmark = pytest.mark.browser

REASON = (
    "Ticket 4711: the invitations of the reception team bounce since Monday and the "
    "customer asks us to look at their members and the audit log of last week"
)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_support_pages_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    tenants = create_tenants()
    staff = staff_member(email="a.support.engineer.with.a.long.address@afspraak.test")
    colleague = staff_member(email="a.colleague.with.a.rather.long.address@afspraak.test")
    SupportPolicy.objects.create(organization=tenants.b, approver=Approver.STAFF)
    owner = member_access(tenants.owner, reauthenticated=True)

    def ask(organization, hours=2):
        return request_support_access(
            AuditContext(actor=staff), organization, reason=REASON, hours=hours
        )

    pending = ask(tenants.a)  # Waiting for the owners.
    active = ask(tenants.a, hours=8)
    decide_support_grant(owner, active, approve=True)
    decide_support_grant(owner, ask(tenants.a, hours=1), approve=False)
    ask(tenants.b)  # Waiting for a second staff member.
    o = f"/o/{tenants.a.slug}"

    visit_pages(
        browser_page,
        https_live_server.url,
        viewport,
        browser_console,
        tenants.owner.user,
        {
            "support-approval": f"{o}/support/",
            "support-confirm-approve": f"{o}/support/{pending.public_id}/decide/",
            "support-confirm-end": f"{o}/support/{active.public_id}/revoke/",
        },
    )
    visit_pages(
        browser_page,
        https_live_server.url,
        viewport,
        browser_console,
        staff,
        {"staff-support-requests": "/staff/support/"},
    )
    visit_pages(
        browser_page,
        https_live_server.url,
        viewport,
        browser_console,
        colleague,
        {"staff-support-approval": "/staff/support/"},
    )
    assert not browser_console, browser_console

"""The readable audit log and the organization's security alerts in Chromium, at 1280 px and
on a 390 px phone: no horizontal scrolling, no CSP violation or console error, axe clean;
screenshots go to var/screenshots/ (issue 12 item 9)."""

import pytest
from playwright.sync_api import expect

from afspraak.accounts.models import MAX_NAME_LENGTH
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert
from afspraak.audit.trail import record
from afspraak.bookings.tests.url_matrix import booking_of
from afspraak.publicid import new_public_id
from afspraak.tenancy.membership import change_member_role
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

OWNER = "owner@alpha.test"
# The longest name an account takes, with no space to break at.
LONG_NAME = ("Wolfeschlegelsteinhausenbergerdorff" * 6)[:MAX_NAME_LENGTH]


def _an_organization_with_history() -> None:
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    owner = UserFactory.create(email=OWNER, full_name="Olga Owner")
    owner_place = MembershipFactory.create(organization=alpha, role=Role.OWNER, user=owner)
    colleague = MembershipFactory.create(
        organization=alpha, role=Role.MEMBER, user__full_name=LONG_NAME
    )
    change_member_role(member_access(owner_place, reauthenticated=True), colleague, Role.ADMIN)
    booking = booking_of(alpha, owner, email="a.very.long.address.of.an.invitee@example.test")
    record(
        "bookings.booking.cancelled",
        context=AuditContext(ip_address="198.51.100.4", user_agent="Firefox"),
        organization=alpha,
        target=booking,
    )
    record("accounts.login.succeeded", actor=owner, organization=alpha)
    Alert.objects.create(
        public_id=new_public_id("alr"),
        rule_id="afspraak-privilege-escalation",
        title="Someone was made owner or admin",
        severity="medium",
        subject=f"member:{colleague.user.public_id}",
        organization_public_id=alpha.public_id,
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_audit_log_and_alerts_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    _an_organization_with_history()
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(OWNER)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("link", name="Alpha Clinic")).to_be_visible()

        page.goto("/o/alpha/audit/")
        main = page.locator("main")
        expect(main).to_contain_text("role from member to admin")
        expect(main).to_contain_text("the invitee a…@example.test cancelled")
        assert_page_is_sound(page, "audit-log")

        page.goto("/o/alpha/security/alerts/")
        expect(page.locator("main")).to_contain_text("waiting for review")
        assert_page_is_sound(page, "security-alerts")
    finally:
        context.close()

    assert not browser_console, browser_console

"""Invitation to removal in Chromium over HTTPS: an owner invites, the member accepts, sees
only what the member role allows, and is cut off the moment the owner removes them."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import Role
from afspraak.testing.browser import assert_no_console_error, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

OWNER = "owner@alpha.test"
MEMBER = "member@alpha.test"
FORBIDDEN_LOGGED = (
    "error: Failed to load resource: the server responded with a status of 403 (Forbidden)"
)


def log_in(page: Page, email: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_owner_invites_member_accepts_sees_only_their_part_and_is_cut_off_on_removal(
    browser_page, browser_console, https_live_server
):
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    MembershipFactory.create(
        organization=alpha, role=Role.OWNER, user=UserFactory.create(email=OWNER)
    )
    UserFactory.create(email=MEMBER)

    owner = browser_page
    owner.goto("/accounts/login/")
    log_in(owner, OWNER)
    owner.get_by_role("link", name="Alpha Clinic").click()
    owner.get_by_role("link", name="Members").click()
    owner.get_by_role("link", name="Invite someone").click()
    owner.get_by_label("E-mail address").fill(MEMBER)
    owner.get_by_label("Role").select_option("member")
    owner.get_by_role("button", name="Send invitation").click()
    expect(owner.get_by_text("Invitation sent.")).to_be_visible()
    expect(owner.locator("ul.invitations")).to_contain_text(MEMBER)

    (message,) = mail.outbox
    link = re.search(rf"{re.escape(https_live_server.url)}(/invitations/\S+/)", str(message.body))
    assert link, message.body

    member_context = owner.context.browser.new_context(base_url=https_live_server.url)
    try:
        member = member_context.new_page()
        watch_console(member, browser_console)
        member.goto(link.group(1))
        expect(member.get_by_role("heading", name="Join Alpha Clinic")).to_be_visible()
        member.locator("main").get_by_role("link", name="log in").click()
        # Logging in from the invitation (verified invited address) accepts it.
        log_in(member, MEMBER)
        expect(member).to_have_url(f"{https_live_server.url}/o/alpha/")
        expect(member.get_by_text("Welcome to Alpha Clinic.")).to_be_visible()

        # The member role: the organization's overview, no members, security or audit log.
        nav = member.locator("nav.org-nav")
        expect(nav.get_by_role("link", name="Overview")).to_be_visible()
        for hidden in ("Members", "Security", "Audit log"):
            expect(nav.get_by_role("link", name=hidden)).to_have_count(0)
        for path in ("/o/alpha/members/", "/o/alpha/security/", "/o/alpha/audit/"):
            response = member.goto(path)
            assert response is not None
            assert response.status == 403, path

        with organization_context(alpha):
            joined = Membership.objects.get(user__email=MEMBER)
        owner.reload()
        owner.locator(f"tr#{joined.public_id}").get_by_role("link", name="Remove").click()
        # First the page that says what removing does; nothing has happened yet.
        heading = re.compile(r"^Remove .+ from Alpha Clinic\?$")
        expect(owner.get_by_role("heading", name=heading)).to_be_visible()
        with organization_context(alpha):
            assert Membership.objects.filter(user__email=MEMBER).exists()
        owner.get_by_role("button", name="Remove member").click()
        # A removal is a sensitive change: the owner confirms their password, then it is done.
        expect(owner).to_have_url(re.compile(r"/accounts/reauthenticate/"))
        owner.get_by_label("Password").fill(DEFAULT_PASSWORD)
        owner.get_by_role("button", name="Confirm").click()
        expect(owner.get_by_text("Member removed")).to_be_visible()

        # The member's open session is gone: the next request lands on the login page.
        response = member.goto("/o/alpha/")
        assert response is not None
        expect(member).to_have_url(re.compile(r"/accounts/login/\?next=/o/alpha/$"))
        member.goto("/")
        expect(member.get_by_role("link", name="Log in").first).to_be_visible()
    finally:
        member_context.close()

    # The three pages the member may not see answer 403 on purpose, which Chromium logs.
    assert_no_console_error(browser_console, expected=[FORBIDDEN_LOGGED] * 3)

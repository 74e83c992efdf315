"""An invitation survives sign-up, in Chromium over HTTPS with a real SMTP server: the
e-mailed invite link, then sign-up, e-mail verification and login land the new member in
the organization, on a page that fits the screen and is axe clean."""

import re

import pytest
from playwright.sync_api import expect

from afspraak.accounts.models import User
from afspraak.audit.models import AuditEvent
from afspraak.tenancy.access import memberships_of
from afspraak.tenancy.invitations import invite_member
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.browser

# One address per test: allauth rate-limits confirmation e-mails per address, in a cache
# that outlives a test.
ADDRESS = "new.colleague.{}@example.test"
PASSWORD = "copper kettles hum beneath winter orchards"


def _link_in_mail(page, smtp_server, server, path, address):
    """Return the path of the first link to ``path`` e-mailed to ``address`` (waiting for it)."""
    pattern = re.compile(rf"{re.escape(server.url)}({re.escape(path)}\S+)")
    for _attempt in range(100):
        for mail in smtp_server.to(address):
            found = pattern.search(mail.text())
            if found:
                return found.group(1)
        page.wait_for_timeout(100)
    raise AssertionError(f"no e-mail with a link to {path}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_invited_person_signs_up_verifies_and_lands_in_the_organization(
    browser_page, browser_console, https_live_server, smtp_server, viewport
):
    device = "phone" if viewport == PHONE else "desktop"
    new_member = ADDRESS.format(device)
    studio = OrganizationFactory.create(name="Hanna's Studio", slug="studio")
    owner = MembershipFactory.create(organization=studio, role=Role.OWNER)
    _invitation, token = invite_member(member_access(owner), new_member, Role.ADMIN)
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        invite_link = _link_in_mail(
            page, smtp_server, https_live_server, "/invitations/", new_member
        )
        assert invite_link == f"/invitations/{token}/"
        page.goto(invite_link)
        expect(page.get_by_role("heading", name="Join Hanna's Studio")).to_be_visible()
        page.locator("main").get_by_role("link", name="sign up").click()
        page.get_by_label("Your name").fill("Nina Nieuw")
        page.get_by_label("Email").fill(new_member)
        page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
        page.get_by_label("Password (again)").fill(PASSWORD)
        page.get_by_role("button", name="Sign up").click()
        expect(page.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()
        page.goto(
            _link_in_mail(
                page, smtp_server, https_live_server, "/accounts/confirm-email/", new_member
            )
        )
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_text(f"You have confirmed {new_member}")).to_be_visible()
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(new_member)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_text("Welcome to Hanna's Studio.")).to_be_visible()
        expect(page.get_by_role("link", name="Hanna's Studio")).to_be_visible()
        assert_page_is_sound(page, f"invited-member-home-{device}")
    finally:
        context.close()
    assert not browser_console, browser_console
    (membership,) = memberships_of(User.objects.get(email=new_member))
    assert (membership.organization, membership.role) == (studio, Role.ADMIN)
    assert AuditEvent.objects.filter(action="tenancy.invitation.accepted").count() == 1

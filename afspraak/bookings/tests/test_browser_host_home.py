"""The host's home page in Chromium at 1280 px and on a 390 px phone: counts, the setup
checklist and a booking link copied with its button; the page is sound (no horizontal
scroll, CSP or console error, axe clean; a 200-character invitee name included)."""

import pytest
from playwright.sync_api import expect

from afspraak.bookings.tests.url_matrix import booking_of
from afspraak.tenancy.roles import Role
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

HOST = "hanna.host@example.test"
LONG_NAME = ("Wolfeschlegelsteinhausenbergerdorff" * 6)[:200]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_host_home_shows_what_needs_them_and_copies_a_link(
    browser_page, browser_console, https_live_server, viewport
):
    studio = OrganizationFactory.create(name="Hanna's Studio", slug="studio")
    host = UserFactory.create(email=HOST, full_name="Hanna de Vries")
    MembershipFactory.create(organization=studio, role=Role.MEMBER, user=host)
    booking = booking_of(studio, host, name=LONG_NAME)
    booking_of(studio, host, requires_approval=True, n=1, name="Grace Hopper")
    device = "phone" if viewport == PHONE else "desktop"
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(HOST)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Upcoming 1")).to_be_visible()
        expect(page.get_by_role("heading", name="Awaiting your approval 1")).to_be_visible()
        expect(page.locator("main")).to_contain_text(LONG_NAME)
        expect(page.locator("ol.steps li.todo")).to_have_count(1)
        expect(page.locator("ol.steps")).to_contain_text("Turn on two-factor authentication")
        link = f"{https_live_server.url}/studio/{booking.meeting_type.slug}/"
        expect(page.locator(f"#link-{booking.meeting_type.public_id}")).to_have_value(link)
        assert_page_is_sound(page, f"host-home-{device}")
        page.get_by_role("button", name=f"Copy link of {booking.meeting_type.name}").click()
        expect(page.get_by_text("Copied.")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == link
    finally:
        context.close()
    assert not browser_console, browser_console


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_host_asks_the_invitee_to_reschedule_after_a_confirmation(
    browser_page, browser_console, https_live_server, viewport
):
    studio = OrganizationFactory.create(name="Hanna's Studio", slug="studio")
    host = UserFactory.create(email=HOST, full_name="Hanna de Vries")
    MembershipFactory.create(organization=studio, role=Role.MEMBER, user=host)
    booking = booking_of(studio, host, name=LONG_NAME)
    device = "phone" if viewport == PHONE else "desktop"
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(HOST)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/o/studio/bookings/{booking.public_id}/")
        page.get_by_role("link", name="Ask the invitee to reschedule…").click()
        expect(
            page.get_by_role("heading", name="Ask the invitee to choose another time?")
        ).to_be_visible()
        assert_page_is_sound(page, f"confirm-ask-to-reschedule-{device}")
        page.get_by_role("button", name="E-mail the invitee").click()
        expect(page.get_by_text("The invitee is e-mailed a link")).to_be_visible()
        assert_page_is_sound(page, f"booking-after-reschedule-request-{device}")
    finally:
        context.close()
    assert not browser_console, browser_console

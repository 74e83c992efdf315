"""The host's pages and every destructive action's confirmation in Chromium, at 1280 px and
on a 390 px phone: no horizontal scrolling (a 200-character invitee name included), no CSP
violation or console error, axe clean; screenshots go to var/screenshots/ (issue 12)."""

from datetime import date

import pytest
from playwright.sync_api import expect

from afspraak.bookings.tests.url_matrix import booking_of
from afspraak.tenancy.roles import Role
from afspraak.testing.browser import (
    DESKTOP,
    PHONE,
    assert_no_console_error,
    assert_page_is_sound,
    watch_console,
)
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    DateOverrideFactory,
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
    ScheduleFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

OWNER = "owner@alpha.test"
# The longest name a booking takes, with no space to break at.
LONG_NAME = ("Wolfeschlegelsteinhausenbergerdorff" * 6)[:200]
NOT_FOUND_LOGGED = (
    "error: Failed to load resource: the server responded with a status of 404 (Not Found)"
)


def _organization_with_one_of_everything() -> dict[str, str]:
    """Return page name -> path for an owner of an organization with a thing of each kind."""
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    owner = UserFactory.create(email=OWNER)
    MembershipFactory.create(organization=alpha, role=Role.OWNER, user=owner)
    # A second owner, so that leaving is offered rather than refused.
    MembershipFactory.create(organization=alpha, role=Role.OWNER)
    member = MembershipFactory.create(organization=alpha, role=Role.MEMBER)
    invitation = InvitationFactory.create(organization=alpha, email="new.colleague@example.test")
    booking = booking_of(alpha, owner, name=LONG_NAME)
    pending = booking_of(alpha, owner, requires_approval=True, n=1, name=LONG_NAME)
    schedule = booking.meeting_type.schedule
    override = DateOverrideFactory.create(schedule=schedule, date=date(2030, 1, 2))
    unused = ScheduleFactory.create(organization=alpha, host=owner, name="Spare hours")
    o = "/o/alpha"
    return {
        "home": f"{o}/",
        "members": f"{o}/members/",
        "schedules": f"{o}/schedules/",
        "schedule": f"{o}/schedules/{schedule.public_id}/",
        "meeting-types": f"{o}/meeting-types/",
        "bookings": f"{o}/bookings/?tab=all",
        "booking": f"{o}/bookings/{booking.public_id}/",
        "confirm-leave": f"{o}/leave/",
        "confirm-remove-member": f"{o}/members/{member.public_id}/remove/",
        "confirm-revoke-invitation": f"{o}/invitations/{invitation.public_id}/revoke/",
        "confirm-delete-schedule": f"{o}/schedules/{unused.public_id}/delete/",
        "confirm-remove-override": (
            f"{o}/schedules/{schedule.public_id}/overrides/{override.public_id}/remove/"
        ),
        "confirm-delete-meeting-type": (
            f"{o}/meeting-types/{booking.meeting_type.public_id}/delete/"
        ),
        "confirm-cancel-booking": f"{o}/bookings/{booking.public_id}/cancel/",
        "confirm-decline-booking": f"{o}/bookings/{pending.public_id}/decline/",
        "not-found": "/alpha/no-such-meeting/",
    }


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_host_pages_and_confirmations_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    pages = _organization_with_one_of_everything()
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

        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None
            assert response.status == (404 if name == "not-found" else 200), name
            if name.startswith("confirm-"):
                danger = page.locator("section.confirm button.danger")
                expect(danger).to_have_count(1)
                expect(page.get_by_role("link", name="Go back")).to_be_visible()
            if name in ("bookings", "booking", "confirm-cancel-booking"):
                expect(page.locator("main")).to_contain_text(LONG_NAME)
            assert_page_is_sound(page, name)
    finally:
        context.close()

    # The last page answers 404 on purpose, which Chromium logs; no other error may be there.
    assert_no_console_error(browser_console, expected=[NOT_FOUND_LOGGED])

"""Every page an invitee reaches after the day's times, in Chromium at 1280 px and 390 px:
the booking form, the page of a confirmed and of a pending booking, the reschedule pages,
the cancel page and the cancelled booking. Each fits the screen, breaks no short word,
is axe clean (no serious or critical violation) and logs no console error (issue 12);
screenshots go to var/screenshots/.

The clock is not frozen: the meetings are booked on weekdays at least two days ahead.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from afspraak.bookings.links import invitee_url
from afspraak.bookings.tests.test_browser import AMSTERDAM, amsterdam, day_label, next_weekday
from afspraak.testing.browser import (
    DESKTOP,
    PHONE,
    assert_no_console_error,
    assert_page_is_sound,
    watch_console,
)
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_invitee_pages_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    meeting_type = MeetingTypeFactory.create(name="Intake call", slug="intake")
    approved_type = MeetingTypeFactory.create(name="First visit", requires_approval=True)
    tuesday = next_weekday(1, after=timezone.now().astimezone(AMSTERDAM).date())
    wednesday = tuesday + timedelta(days=1)
    booking = book(
        meeting_type, amsterdam(tuesday, 10), name="Ada Lovelace", email="ada@example.test"
    )
    pending = book(
        approved_type, amsterdam(tuesday, 11), name="Grace Hopper", email="grace@example.test"
    )
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        timezone_id="Europe/Amsterdam",
        locale="en-GB",
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)

        page.goto(
            f"/{meeting_type.organization.slug}/intake/"
            f"?tz=Europe/Amsterdam&date={wednesday.isoformat()}"
        )
        page.get_by_role("link", name="14:00", exact=True).click()
        expect(page.get_by_label("Your name")).to_be_visible()
        assert_page_is_sound(page, "invitee-book-form")

        page.goto(invitee_url(pending))
        expect(page.locator(".headline")).to_have_text("Request sent — waiting for approval")
        assert_page_is_sound(page, "invitee-pending")

        page.goto(invitee_url(booking))
        expect(page.locator(".headline")).to_have_text("You're scheduled")
        assert_page_is_sound(page, "invitee-confirmed")

        page.get_by_role("link", name="Reschedule", exact=True).click()
        expect(page.get_by_role("heading", name="Pick a new time")).to_be_visible()
        page.get_by_role("link", name=day_label(wednesday), exact=True).click()
        expect(page.locator(".day-slots h2")).to_have_text(day_label(wednesday))
        assert_page_is_sound(page, "invitee-reschedule")
        page.get_by_role("link", name="15:00", exact=True).click()
        expect(page.get_by_role("button", name="Move my meeting")).to_be_visible()
        assert_page_is_sound(page, "invitee-reschedule-confirm")

        page.goto(invitee_url(booking, "cancel"))
        expect(page.get_by_role("button", name="Cancel this meeting")).to_be_visible()
        assert_page_is_sound(page, "invitee-cancel")
        page.get_by_label("Message to the host (optional)").fill("Something came up.")
        page.get_by_role("button", name="Cancel this meeting").click()
        expect(page.locator(".headline")).to_have_text("This meeting is cancelled")
        assert_page_is_sound(page, "invitee-cancelled")
    finally:
        context.close()

    assert_no_console_error(browser_console)

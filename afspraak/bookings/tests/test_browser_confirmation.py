"""An invitee books in Chromium at 1280 px and 390 px: the day's times appear in place, the
confirmation says what happened, and Back after booking shows the booking, not an error.

The clock is not frozen: the live server and Chromium run in real time, so the day is
chosen relative to now (a weekday at least two days ahead, past the notice).
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from afspraak.bookings.tests.test_browser import (
    AMSTERDAM,
    day_label,
    next_weekday,
    open_day,
)
from afspraak.testing.browser import assert_no_console_error, assert_page_is_sound, watch_console
from afspraak.testing.factories import MeetingTypeFactory

pytestmark = pytest.mark.browser

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def choose_day_in_place(page: Page, label: str) -> None:
    """Choose a day and check the page neither reloaded nor moved."""
    page.evaluate("window.notReloaded = true")
    page.evaluate("window.scrollTo(0, 120)")
    before = page.evaluate("window.scrollY")
    page.get_by_role("link", name=label, exact=True).click()
    expect(page.locator(".day-slots h2")).to_have_text(label)
    assert page.evaluate("window.notReloaded === true"), "the page reloaded"
    assert page.evaluate("window.scrollY") == before
    assert "date=" in page.url


@pytest.mark.parametrize("size", SIZES)
def test_an_invitee_books_and_sees_a_confirmation_back_included(
    browser_page, browser_console, https_live_server, size
):
    meeting_type = MeetingTypeFactory.create(name="Intake call", slug="intake")
    page_url = f"/{meeting_type.organization.slug}/intake/"
    monday = next_weekday(0, after=timezone.now().astimezone(AMSTERDAM).date())
    if (monday + timedelta(days=1)).month != monday.month:
        monday += timedelta(days=7)  # both days in one month view
    tuesday = monday + timedelta(days=1)

    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=SIZES[size],
        is_mobile=size == "phone",
        has_touch=size == "phone",
        timezone_id="America/New_York",
        locale="en-US",
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto(page_url)
        # The page switches to the browser's zone once the zone list has loaded.
        expect(page).to_have_url(re.compile(r"tz=America%2FNew_York"))
        expect(page.get_by_role("link", name="Log in")).to_have_count(0)
        open_day(page, monday)
        choose_day_in_place(page, day_label(tuesday))
        assert_page_is_sound(page, "booking-page-day")

        page.locator(".day-slots a.slot").first.click()
        page.get_by_label("Your name").fill("Ada Lovelace")
        page.get_by_label("E-mail address").fill("ada@example.test")
        page.get_by_role("button", name="Book this meeting").click()

        expect(page.locator(".headline")).to_have_text("You're scheduled")
        expect(page.get_by_text("We e-mailed a confirmation to ada@example.test")).to_be_visible()
        expect(page.get_by_role("link", name="Google Calendar")).to_be_visible()
        expect(page.locator("dl.booking-facts")).to_contain_text("AM")  # en-US: 12-hour
        assert_page_is_sound(page, "confirmation")

        page.go_back()
        expect(page.locator(".headline")).to_have_text("You're scheduled")
        expect(page.get_by_text("not available")).to_have_count(0)
    finally:
        context.close()

    assert_no_console_error(browser_console)

"""An invitee books with the keyboard alone in Chromium at 1280 px and 390 px (issue 12):
Tab, Shift+Tab and Enter move from the booking page through the month, the day and its
times to the form and the confirmation; every stop shows where focus is, and choosing a
day hands focus to the day's times instead of dropping it on the page.

No mouse: no ``click``, no ``fill``; text is typed with ``page.keyboard`` into the field
that keyboard focus reached. The clock is not frozen: the day is chosen relative to now.
"""

from collections.abc import Callable

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from afspraak.bookings.models import Booking
from afspraak.bookings.tests.test_browser import AMSTERDAM, day_label, next_weekday
from afspraak.tenancy.context import organization_context
from afspraak.testing.browser import DESKTOP, PHONE
from afspraak.testing.factories import MeetingTypeFactory

pytestmark = pytest.mark.browser

# Enough Tab presses to cross the header, the zone picker and a whole month of days.
MOST_TAB_STOPS = 80

# What the focused element is, and whether its computed style shows that it has focus.
_FOCUSED_SCRIPT = """
() => {
  const element = document.activeElement;
  if (!element || element === document.body) return {tag: "body", shown: false};
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    tag: element.tagName.toLowerCase(),
    text: (element.getAttribute("aria-label") || element.textContent || "").trim(),
    name: element.getAttribute("name") || "",
    shown: outline || style.boxShadow !== "none",
  };
}
"""


def focused(page: Page) -> dict[str, object]:
    return dict(page.evaluate(_FOCUSED_SCRIPT))


def tab_to(
    page: Page, matches: Callable[[dict[str, object]], bool], *, backwards: bool = False
) -> dict[str, object]:
    """Press Tab (or Shift+Tab) until the focused element ``matches``; check each stop shows it."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(MOST_TAB_STOPS):
        page.keyboard.press(key)
        now = focused(page)
        if now["tag"] == "body":
            continue  # past the last stop, before the browser wraps to the first
        assert now["shown"], f"focus on {now} is not visible"
        if matches(now):
            return now
    pytest.fail(f"{key} never reached the element; focus is on {focused(page)}")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_invitee_books_with_the_keyboard_alone(browser_page, https_live_server, viewport):
    meeting_type = MeetingTypeFactory.create(name="Intake call", slug="intake")
    page_url = f"/{meeting_type.organization.slug}/intake/"
    day = next_weekday(0, after=timezone.now().astimezone(AMSTERDAM).date())

    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        timezone_id="Europe/Amsterdam",
        locale="en-GB",
    )
    try:
        page = context.new_page()
        # With a zone in the address the page never switches zones under the keyboard.
        page.goto(f"{page_url}?tz=Europe/Amsterdam")
        expect(page.get_by_label("Times are shown in")).to_have_value("Europe/Amsterdam")

        # Next month by keyboard until the day's month shows (a full page load each time).
        while page.locator(".month-nav h2").inner_text() != f"{day:%B %Y}":
            tab_to(page, lambda now: str(now["text"]).startswith("Next month"))
            page.keyboard.press("Enter")
            page.wait_for_load_state()

        tab_to(page, lambda now: now["text"] == day_label(day))
        page.keyboard.press("Enter")
        expect(page.locator(".day-slots h2")).to_have_text(day_label(day))
        # Focus follows the choice to the day's times, where the next Tab goes on.
        expect(page.locator(".day-slots h2")).to_be_focused()
        assert focused(page)["shown"], "the day's heading has focus but does not show it"
        page.keyboard.press("Tab")
        first_slot = focused(page)
        assert first_slot["text"] == "09:00", first_slot
        assert first_slot["shown"], first_slot
        # Shift+Tab goes back over the heading into the month; Tab returns to the times.
        tab_to(page, lambda now: now["text"] == day_label(day), backwards=True)
        tab_to(page, lambda now: now["text"] == "09:30")
        page.keyboard.press("Enter")

        expect(page.locator(".chosen-time")).to_contain_text(f"{day_label(day)}, 09:30 to 10:00")
        tab_to(page, lambda now: now["name"] == "name")
        page.keyboard.type("Ada Lovelace")
        tab_to(page, lambda now: now["name"] == "email")
        page.keyboard.type("ada@example.test")
        tab_to(page, lambda now: now["text"] == "Book this meeting")
        page.keyboard.press("Space")

        expect(page.locator(".headline")).to_have_text("You're scheduled")
        expect(page.locator("dl.booking-facts")).to_contain_text(f"{day_label(day)}, 09:30")
        # The calendar links after the booking are reachable too.
        tab_to(page, lambda now: now["text"] == "Google Calendar")
    finally:
        context.close()

    with organization_context(meeting_type.organization):
        booking = Booking.objects.get()
    assert booking.invitee_name == "Ada Lovelace"
    assert booking.invitee.email == "ada@example.test"
    assert f"{booking.start.astimezone(AMSTERDAM):%Y-%m-%d %H:%M}" == f"{day:%Y-%m-%d} 09:30"

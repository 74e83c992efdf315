"""The booking page's zone picker in Chromium at 1280 px and on a 390 px phone: the
browser's zone is detected (unless the visitor has already clicked or pressed a key),
the search box narrows the list, picking a zone reloads the times at once, and an en-US
visitor reads 12-hour times (issue 12); without script the page shows its zone and links
to a page listing every zone."""

import re

import pytest
from playwright.sync_api import expect

from afspraak.scheduling.zones import canonical_zones
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import MeetingTypeFactory

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_zone_picker_finds_a_zone_and_shows_its_times(
    browser_page, browser_console, https_live_server, viewport
):
    meeting_type = MeetingTypeFactory.create()
    url = f"/{meeting_type.organization.slug}/{meeting_type.slug}/"
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        timezone_id="Asia/Tokyo",
        locale="en-US",
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto(url)
        expect(page).to_have_url(re.compile(r"\?tz=Asia%2FTokyo$"))
        expect(page.locator(".host")).to_have_text(
            f"With {meeting_type.host.full_name} · {meeting_type.organization.name}"
        )
        zone = page.get_by_label("Times are shown in")
        expect(zone).to_have_value("Asia/Tokyo")
        # With the script, choosing a zone reloads: no "Show times" button.
        expect(page.get_by_role("button", name="Show times")).to_be_hidden()
        expect(page.locator("[data-slot]").first).to_have_text(re.compile(r"^\d{1,2}:\d{2} [AP]M$"))
        assert_page_is_sound(page, f"booking-zones-{'phone' if viewport == PHONE else 'desktop'}")

        page.get_by_role("searchbox", name="Search time zones").fill("new york")
        expect(zone.locator("option:not([hidden])")).to_have_count(1)
        zone.select_option("America/New_York")
        expect(page).to_have_url(re.compile(r"tz=America%2FNew_York"))
        expect(page.get_by_label("Times are shown in")).to_have_value("America/New_York")
    finally:
        context.close()
    assert not browser_console, browser_console


def test_without_script_the_picker_shows_the_chosen_zone_and_links_to_every_zone(
    browser_page, https_live_server
):
    meeting_type = MeetingTypeFactory.create()
    url = f"/{meeting_type.organization.slug}/{meeting_type.slug}/"
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=PHONE, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(url)
        zone = page.get_by_label("Times are shown in")
        # The page carries the schedule's zone alone, chosen; the list is behind the link.
        expect(zone.locator("option")).to_have_count(1)
        expect(zone).to_have_value("Europe/Amsterdam")
        page.get_by_role("link", name="More time zones").click()
        expect(page.get_by_label("Times are shown in").locator("option")).to_have_count(
            len(canonical_zones())
        )
        page.get_by_label("Times are shown in").select_option("Asia/Tokyo")
        page.get_by_role("button", name="Show times").click()
        expect(page).to_have_url(re.compile(r"tz=Asia%2FTokyo"))
        expect(page.get_by_label("Times are shown in")).to_have_value("Asia/Tokyo")
        expect(page.locator("[data-slot]").first).to_be_visible()
    finally:
        context.close()


def test_a_visitor_who_started_with_the_keyboard_is_not_moved_to_their_zone(
    browser_page, browser_console, https_live_server
):
    meeting_type = MeetingTypeFactory.create()
    url = f"/{meeting_type.organization.slug}/{meeting_type.slug}/"
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=DESKTOP, timezone_id="Asia/Tokyo"
    )
    held = []
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        # The zone list (whose arrival would switch the page to Tokyo) is held back until
        # the visitor has pressed a key.
        page.route("**/b/zones/**", lambda route: held.append(route))
        with page.expect_request("**/b/zones/**"):
            page.goto(url)
        for _ in range(100):  # the route's handler runs as Playwright reads its events
            if held:
                break
            page.wait_for_timeout(50)
        assert held, "the zone list was never asked for"
        page.keyboard.press("Tab")
        held[0].continue_()
        zone = page.get_by_label("Times are shown in")
        expect(zone).to_have_attribute("data-zone-list-loaded", "")
        # The list is in and the handler that would switch has run: the page stayed.
        page.evaluate("() => new Promise(resolve => setTimeout(resolve, 300))")
        assert "tz=" not in page.url
        expect(zone).to_have_value("Europe/Amsterdam")
        expect(zone.locator("option[value='Asia/Tokyo']")).to_have_count(1)
    finally:
        context.close()
    assert not browser_console, browser_console

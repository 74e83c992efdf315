"""The new-schedule form in Chromium: the browser's zone is chosen and the search box
narrows the zone list, which this page carries whole (issue 12: no Europe/Amsterdam
default for a host in Tokyo)."""

import pytest
from playwright.sync_api import expect

from afspraak.tenancy.roles import Role
from afspraak.testing.browser import DESKTOP, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

HOST = "kenji.host@example.test"


def test_a_new_schedule_takes_the_browsers_zone_and_the_list_can_be_searched(
    browser_page, browser_console, https_live_server
):
    studio = OrganizationFactory.create(slug="studio")
    host = UserFactory.create(email=HOST, full_name="Kenji Sato")
    MembershipFactory.create(organization=studio, role=Role.MEMBER, user=host)
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=DESKTOP, timezone_id="Asia/Tokyo"
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(HOST)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/o/studio/schedules/new/")
        zone = page.locator("select[name='time_zone']")
        expect(zone).to_have_value("Asia/Tokyo")
        page.get_by_role("searchbox", name="Search time zones").fill("kolkata")
        expect(zone.locator("option:not([hidden])")).to_have_count(1)
    finally:
        context.close()
    assert not browser_console, browser_console

"""The profile page in Chromium at 1280 px and on a 390 px phone: the name is changed and
the page is sound (no horizontal scroll, no CSP or console error, axe clean; issue 12)."""

import pytest
from playwright.sync_api import expect

from afspraak.accounts.models import User
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.browser

EMAIL = "hanna.host@example.test"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_host_renames_themselves_on_the_profile_page(
    browser_page, browser_console, https_live_server, viewport
):
    UserFactory.create(email=EMAIL, full_name="hanna.host")
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Profile").click()

        name = page.get_by_label("Your name")
        expect(name).to_have_value("hanna.host")
        assert_page_is_sound(page, f"profile-{'phone' if viewport == PHONE else 'desktop'}")
        name.fill("Hanna de Vries")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Your name is saved.")).to_be_visible()
        expect(page.get_by_label("Your name")).to_have_value("Hanna de Vries")
        assert User.objects.get(email=EMAIL).full_name == "Hanna de Vries"
        page.goto("/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Hanna de Vries")
    finally:
        context.close()
    assert not browser_console, browser_console

"""An organization's colour and logo on its booking and invitee pages, and the embed code
on the host home, in Chromium at 1280 px and 390 px: the accent applied through its
stylesheet under the strict CSP, the logo shown and fitting the header, axe clean;
screenshots go to var/screenshots/."""

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from afspraak.bookings.links import invitee_url
from afspraak.bookings.tests.url_matrix import booking_of
from afspraak.tenancy.branding import update_branding
from afspraak.tenancy.embedding import update_embed_origins
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory

pytestmark = pytest.mark.browser

ACCENT = "#8a1c7c"


def _wide_logo() -> bytes:
    buffer = io.BytesIO()
    # Wider than a phone: the header must scale it down, not scroll.
    Image.new("RGB", (800, 120), (138, 28, 124)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_branded_public_pages_fit_and_use_the_accent(
    browser_page, browser_console, https_live_server, viewport
):
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    owner = MembershipFactory.create(organization=alpha, role=Role.OWNER)
    update_branding(member_access(owner), accent_colour=ACCENT, logo=_wide_logo())
    booking = booking_of(alpha, owner.user)
    pages = {
        "branded-organization": "/alpha/",
        "branded-booking-page": f"/alpha/{booking.meeting_type.slug}/",
        "branded-invitee-page": invitee_url(booking),
    }
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
        # The schedule's own zone: the booking page then has no zone to switch to (a reload
        # once its zone list arrives), and each page stays as loaded while it is examined.
        timezone_id=booking.meeting_type.schedule.time_zone,
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, name
            logo = page.get_by_role("img", name="Alpha Clinic")
            expect(logo).to_be_visible()
            assert page.evaluate("document.querySelector('header img').naturalWidth") == 800
            accent = page.evaluate(
                "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
            )
            assert accent == ACCENT, name
            assert_page_is_sound(page, name)
    finally:
        context.close()
    assert not browser_console, browser_console


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_embed_code_on_the_host_home_fits_the_screen(
    browser_page, browser_console, https_live_server, viewport
):
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    owner = MembershipFactory.create(
        organization=alpha, role=Role.OWNER, user__email="owner@alpha.test"
    )
    update_embed_origins(member_access(owner), "https://www.alpha.example")
    booking_of(alpha, owner.user)
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
        page.get_by_label("Email").fill("owner@alpha.test")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        embed = page.get_by_label("Embed code")
        expect(embed).to_have_value(re.compile(r'^<iframe src="https://[^"]+/alpha/[^"]+/"'))
        assert_page_is_sound(page, "host-home-embed-code")
    finally:
        context.close()
    assert not browser_console, browser_console


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_members_organization_navigation_carries_the_accent_alone(
    browser_page, browser_console, https_live_server, viewport
):
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    owner = MembershipFactory.create(
        organization=alpha, role=Role.OWNER, user__email="owner@alpha.test"
    )
    update_branding(member_access(owner), accent_colour=ACCENT, logo=None)
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill("owner@alpha.test")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/o/alpha/members/")
        navigation = page.locator("nav.org-nav")
        expect(navigation).to_have_css("border-bottom-color", "rgb(138, 28, 124)")
        current = navigation.get_by_role("link", name="Members")
        expect(current).to_have_css("text-decoration-color", "rgb(138, 28, 124)")
        # The rest of the host's page keeps Afspraak's own accent.
        accent = page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
        )
        assert accent == "#2456d6"
        assert_page_is_sound(page, "branded-organization-navigation")
    finally:
        context.close()
    assert not browser_console, browser_console

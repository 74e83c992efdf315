"""An invitee erases their data in Chromium at 1280 px and 390 px: from the booking's page
to the confirmation step, then the result; a second try says it is already done.

The clock is not frozen (the live server runs in real time): the meeting is booked on a
weekday at least two days ahead, so the erasure also cancels it.
"""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from afspraak.bookings.erasure import ALREADY_ERASED, ERASED_NAME
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking, Status
from afspraak.bookings.tests.test_browser import AMSTERDAM, amsterdam, next_weekday
from afspraak.tenancy.context import organization_context
from afspraak.testing.browser import assert_no_console_error, assert_page_is_sound, watch_console
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.browser

CONFLICT_LOGGED = (
    "error: Failed to load resource: the server responded with a status of 409 (Conflict)"
)
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("size", SIZES)
def test_an_invitee_confirms_the_erasure_and_sees_it_done(
    browser_page, browser_console, https_live_server, size
):
    meeting_type = MeetingTypeFactory.create(name="Intake call", slug="intake")
    tuesday = next_weekday(1, after=timezone.now().astimezone(AMSTERDAM).date())
    booking = book(
        meeting_type, amsterdam(tuesday, 10), name="Ada Lovelace", email="ada@example.test"
    )
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=SIZES[size],
        is_mobile=size == "phone",
        has_touch=size == "phone",
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto(invitee_url(booking))
        page.get_by_role("link", name="Erase my personal data").click()

        expect(page.get_by_role("heading", name="Erase your personal data")).to_be_visible()
        expect(page.get_by_text("it is cancelled first")).to_be_visible()
        assert_page_is_sound(page, "invitee-erase-confirm")

        page.get_by_role("button", name="Erase my personal data").click()

        expect(page.get_by_role("heading", name="Your personal data is erased")).to_be_visible()
        expect(page.get_by_text("The meeting was cancelled and the host told.")).to_be_visible()
        assert_page_is_sound(page, "invitee-erased")

        page.goto(invitee_url(booking, "erase"))
        page.get_by_role("button", name="Erase my personal data").click()
        expect(page.get_by_role("alert")).to_have_text(ALREADY_ERASED)
    finally:
        context.close()

    with organization_context(booking.organization):
        fresh = Booking.objects.get(pk=booking.pk)
    assert (fresh.invitee_name, fresh.status) == (ERASED_NAME, Status.CANCELLED)
    # The second try answers 409 on purpose, which Chromium logs.
    assert_no_console_error(browser_console, expected=[CONFLICT_LOGGED])

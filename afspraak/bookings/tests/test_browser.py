"""Booking in Chromium over HTTPS: a host in Amsterdam sets up a meeting type through the
dashboard, an invitee whose browser runs in New York books, reschedules and cancels it
through the public pages and the links in the e-mails, which arrive through real SMTP.

The clock is not frozen: the live server and Chromium run in real time, so the dates
are chosen relative to now (a weekday at least two days ahead, past the notice).
"""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from icalendar import Calendar, Component
from playwright.sync_api import BrowserContext, Page, expect

from afspraak.tenancy.roles import Role
from afspraak.testing.browser import assert_no_console_error, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MeetingTypeFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)
from afspraak.testing.smtp import ReceivedMail

pytestmark = pytest.mark.browser

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
HOST = "host@alpha.test"
INVITEE = "ada@example.test"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def next_weekday(weekday: int, *, after: date) -> date:
    """Return the first date on ``weekday`` (0 = Monday) at least two days after ``after``."""
    day = after + timedelta(days=2)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def amsterdam(day: date, hour: int) -> datetime:
    """Return the UTC instant of ``hour``:00 in Amsterdam on ``day``."""
    return datetime.combine(day, time(hour), tzinfo=AMSTERDAM).astimezone(UTC)


def day_label(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def new_york_clock(instant: datetime) -> str:
    return f"{instant.astimezone(NEW_YORK):%H:%M}"


def open_day(page: Page, day: date) -> None:
    """Page through the month view to ``day`` and choose it."""
    target = f"{day:%B %Y}"
    for _ in range(3):
        if page.locator(".month-nav h2").inner_text() == target:
            break
        page.get_by_role("link", name="Next month").click()
    page.get_by_role("link", name=day_label(day), exact=True).click()
    expect(page.locator(".day-slots h2")).to_have_text(day_label(day))


def shown_slots(page: Page) -> list[str]:
    return page.locator(".day-slots a.slot").all_inner_texts()


def only(mails: list[ReceivedMail]) -> ReceivedMail:
    assert len(mails) == 1, [mail.subject for mail in mails]
    return mails[0]


def invitation(mail: ReceivedMail) -> tuple[Calendar, Component]:
    """Return the calendar in the invite.ics attachment and its one event."""
    calendar = Calendar.from_ical(mail.attachment("invite.ics"))
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_amsterdam_host_and_new_york_invitee_book_reschedule_and_cancel(
    browser_page, browser_console, https_live_server, smtp_server
):
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    host_user = UserFactory.create(email=HOST, full_name="Hanna de Vries")
    MembershipFactory.create(organization=alpha, role=Role.MEMBER, user=host_user)

    # The host sets up weekday hours in Amsterdam and a 30-minute meeting type.
    host = browser_page
    host.goto("/accounts/login/")
    host.get_by_label("Email").fill(HOST)
    host.get_by_label("Password").fill(DEFAULT_PASSWORD)
    host.get_by_role("button", name="Log in").click()
    host.get_by_role("link", name="Alpha Clinic").click()
    host.get_by_role("link", name="Schedules").click()
    host.get_by_role("link", name="New schedule").click()
    host.get_by_label("Name:", exact=True).fill("Office hours")
    # A new schedule starts in the browser's zone (UTC here); the search box finds another.
    zone = host.get_by_label("Time zone:", exact=True)
    expect(zone).to_have_value("UTC")
    host.get_by_role("searchbox", name="Search time zones").fill("amsterdam")
    expect(zone.locator("option:not([hidden])")).to_have_count(1)
    zone.select_option("Europe/Amsterdam")
    for weekday in WEEKDAYS:
        host.get_by_label(weekday).fill("09:00-17:00")
    host.get_by_role("button", name="Save schedule").click()
    expect(host.get_by_text("Schedule created.")).to_be_visible()

    host.locator("nav.org-nav").get_by_role("link", name="Meeting types").click()
    host.get_by_role("link", name="New meeting type").click()
    host.get_by_label("Name:", exact=True).fill("Intake call")
    host.get_by_label("Web address").fill("intake")
    host.get_by_role("group", name="Duration").get_by_label("minutes").fill("30")
    host.get_by_role("button", name="Save meeting type").click()
    expect(host.get_by_text("Meeting type created.")).to_be_visible()
    page_url = "/alpha/intake/"
    expect(host.get_by_role("link", name=https_live_server + page_url)).to_be_visible()

    today = timezone.now().astimezone(AMSTERDAM).date()
    monday = next_weekday(0, after=today)
    tuesday = monday + timedelta(days=1)
    booked = amsterdam(monday, 10)
    moved = amsterdam(tuesday, 11)

    invitee_context: BrowserContext = host.context.browser.new_context(
        # British English: 24-hour times, as the e-mails and the invitee's page show them.
        base_url=https_live_server.url,
        timezone_id="America/New_York",
        locale="en-GB",
    )
    try:
        invitee = invitee_context.new_page()
        watch_console(invitee, browser_console)

        # The page detects New York and shows the Amsterdam day, 09:00-17:00, in its time.
        invitee.goto(page_url)
        expect(invitee).to_have_url(re.compile(r"\?tz=America%2FNew_York$"))
        expect(invitee.get_by_label("Times are shown in")).to_have_value("America/New_York")
        open_day(invitee, monday)
        slots = shown_slots(invitee)
        assert slots[0] == new_york_clock(amsterdam(monday, 9)), slots
        assert slots[-1] == new_york_clock(amsterdam(monday, 17) - timedelta(minutes=30)), slots
        assert len(slots) == 16

        invitee.get_by_role("link", name=new_york_clock(booked), exact=True).click()
        expect(invitee.locator(".chosen-time")).to_contain_text(
            f"{day_label(monday)}, {new_york_clock(booked)} to "
            f"{new_york_clock(booked + timedelta(minutes=30))} (America/New York"
        )
        invitee.get_by_label("Your name").fill("Ada Lovelace")
        invitee.get_by_label("E-mail address").fill(INVITEE)
        expect(invitee.locator("input[name=timezone]")).to_have_value("America/New_York")
        invitee.get_by_role("button", name="Book this meeting").click()

        facts = invitee.locator("dl.booking-facts")
        expect(invitee.locator(".headline")).to_have_text("You're scheduled")
        expect(facts).to_contain_text(
            f"{day_label(monday)}, {new_york_clock(booked)} to "
            f"{new_york_clock(booked + timedelta(minutes=30))} (America/New York"
        )
        expect(facts).to_contain_text(f"{day_label(monday)}, 10:00 to 10:30 (Europe/Amsterdam")

        # Both e-mails arrived, each in its reader's zone, with the invitation in UTC.
        to_invitee = only(smtp_server.to(INVITEE))
        to_host = only(smtp_server.to(HOST))
        invitee_when = (
            f"{day_label(monday)}, {new_york_clock(booked)}-"
            f"{new_york_clock(booked + timedelta(minutes=30))} (America/New_York)"
        )
        assert to_invitee.subject.startswith("[Afspraak] Confirmed: Intake call")
        assert invitee_when in to_invitee.subject
        assert invitee_when in to_invitee.text()
        assert f"{day_label(monday)}, 10:00-10:30 (Europe/Amsterdam)" in to_host.text()
        _, first = invitation(to_invitee)
        for mail in (to_invitee, to_host):
            calendar, event = invitation(mail)
            assert calendar["METHOD"] == "REQUEST"
            assert event["UID"] == first["UID"]
            assert event["SEQUENCE"] == 0
            assert event.decoded("DTSTART") == booked
            assert event.decoded("DTEND") == booked + timedelta(minutes=30)
            assert event["DTSTART"].to_ical() == booked.strftime("%Y%m%dT%H%M%SZ").encode()
        link = re.search(rf"{re.escape(https_live_server.url)}(/b/[^/\s]+/)", to_invitee.text())
        assert link, to_invitee.text()
        smtp_server.clear()

        # Reschedule through the e-mailed link: same UID, SEQUENCE 1, the new time.
        invitee.goto(link.group(1))
        invitee.get_by_role("link", name="Reschedule", exact=True).click()
        expect(invitee.get_by_label("Times are shown in")).to_have_value("America/New_York")
        open_day(invitee, tuesday)
        invitee.get_by_role("link", name=new_york_clock(moved), exact=True).click()
        expect(invitee.locator("form.booking-form")).to_contain_text(
            f"Move it to {day_label(tuesday)}, {new_york_clock(moved)} to"
        )
        invitee.get_by_role("button", name="Move my meeting").click()
        expect(invitee.get_by_text("Your meeting has been moved.")).to_be_visible()
        expect(facts).to_contain_text(f"{day_label(tuesday)}, 11:00 to 11:30 (Europe/Amsterdam")

        for address in (INVITEE, HOST):
            mail = only(smtp_server.to(address))
            assert mail.subject.startswith("[Afspraak] Moved: Intake call"), mail.subject
            calendar, event = invitation(mail)
            assert calendar["METHOD"] == "REQUEST"
            assert event["UID"] == first["UID"]
            assert event["SEQUENCE"] == 1
            assert event.decoded("DTSTART") == moved
        smtp_server.clear()

        # The old time is free again, the new one taken.
        invitee.goto(f"{page_url}?tz=America/New_York&date={tuesday.isoformat()}")
        assert new_york_clock(moved) not in shown_slots(invitee)
        invitee.goto(f"{page_url}?tz=America/New_York&date={monday.isoformat()}")
        assert new_york_clock(booked) in shown_slots(invitee)

        # Cancel through the same link: a CANCEL for both, and the slot is offered again.
        invitee.goto(link.group(1))
        invitee.get_by_role("link", name="Cancel", exact=True).click()
        invitee.get_by_label("Message to the host (optional)").fill("Something came up.")
        invitee.get_by_role("button", name="Cancel this meeting").click()
        expect(invitee.get_by_text("Your meeting is cancelled.")).to_be_visible()
        expect(invitee.locator(".headline")).to_have_text("This meeting is cancelled")
        expect(invitee.get_by_role("link", name="Reschedule", exact=True)).to_have_count(0)

        for address in (INVITEE, HOST):
            mail = only(smtp_server.to(address))
            assert mail.subject.startswith("[Afspraak] Cancelled: Intake call"), mail.subject
            calendar, event = invitation(mail)
            assert calendar["METHOD"] == "CANCEL"
            assert event["UID"] == first["UID"]
            assert event.decoded("DTSTART") == moved

        invitee.goto(page_url)
        expect(invitee).to_have_url(re.compile(r"\?tz=America%2FNew_York$"))
        open_day(invitee, tuesday)
        assert new_york_clock(moved) in shown_slots(invitee)
    finally:
        invitee_context.close()

    assert_no_console_error(browser_console)


def test_booking_page_fits_a_phone_screen(browser_page, browser_console, https_live_server):
    meeting_type = MeetingTypeFactory.create(name="Intake call", slug="intake")
    page_url = f"/{meeting_type.organization.slug}/intake/"
    monday = next_weekday(0, after=timezone.now().astimezone(AMSTERDAM).date())

    phone = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        timezone_id="America/New_York",
    )
    try:
        page = phone.new_page()
        watch_console(page, browser_console)

        def fits() -> bool:
            # With is_mobile, a page without a device-width viewport would lay out at 980 px.
            return page.evaluate(
                "innerWidth === 390 && document.documentElement.scrollWidth <= innerWidth"
            )

        page.goto(page_url)
        expect(page).to_have_url(re.compile(r"\?tz=America%2FNew_York$"))
        open_day(page, monday)
        expect(page.locator(".day-slots a.slot").first).to_be_visible()
        assert fits()

        page.locator(".day-slots a.slot").first.click()
        expect(page.get_by_label("Your name")).to_be_visible()
        expect(page.get_by_role("button", name="Book this meeting")).to_be_visible()
        assert fits()
    finally:
        phone.close()

    assert_no_console_error(browser_console)

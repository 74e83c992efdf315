"""iCalendar invitations: what a calendar client reads from a booking's .ics."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from icalendar import Calendar

from afspraak.bookings.booking import cancel_booking, reschedule_booking
from afspraak.bookings.ics import CANCEL, REQUEST, invitation
from afspraak.bookings.links import invitee_url
from afspraak.scheduling.models import Location
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import invitee_access
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# Between the American (8 March) and the European (29 March) change to summer time,
# Amsterdam is UTC+1 and New York UTC-4: five hours apart instead of six.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Tuesday 10 March 2026, 15:00 in Amsterdam = 14:00 UTC = 10:00 in New York.
TUESDAY_1500_AMSTERDAM = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
THURSDAY_0900_AMSTERDAM = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock_start():
    return NOW


@pytest.fixture
def meeting_type():
    return MeetingTypeFactory.create(
        name="Intake call",
        location_kind=Location.IN_PERSON,
        location_detail="Herengracht 1, Amsterdam",
    )


@pytest.fixture
def booking(meeting_type):
    return book(meeting_type, TUESDAY_1500_AMSTERDAM, name="Ada Lovelace", email="ada@example.test")


def _event(ics: bytes):
    calendar = Calendar.from_ical(ics)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def test_invitation_of_a_confirmed_booking_is_a_request_with_exact_utc_times(booking):
    with organization_context(booking.organization):
        calendar, event = _event(invitation(booking, method=REQUEST))
        manage = settings.SITE_URL + invitee_url(booking)
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"]
    assert calendar["METHOD"] == "REQUEST"
    assert event["UID"] == booking.uid
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
    assert event["DTSTART"].to_ical() == b"20260310T140000Z"
    assert event.decoded("DTSTAMP") == NOW
    assert event["STATUS"] == "CONFIRMED"
    assert event["SUMMARY"] == f"Intake call: {booking.host.full_name} and Ada Lovelace"
    assert event["LOCATION"] == "Herengracht 1, Amsterdam"
    assert manage in event["DESCRIPTION"]
    assert manage.startswith("https://")
    assert event["ORGANIZER"] == f"mailto:{booking.host.email}"
    assert booking.host.full_name
    assert event["ORGANIZER"].params["CN"] == booking.host.full_name
    attendee = event["ATTENDEE"]
    assert attendee == "mailto:ada@example.test"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["CN"] == "Ada Lovelace"


def test_host_copy_leaves_out_the_invitees_private_link(booking):
    with organization_context(booking.organization):
        _, event = _event(invitation(booking, method=REQUEST, for_host=True))
        token_path = invitee_url(booking)
    assert token_path not in event["DESCRIPTION"]
    assert event["UID"] == booking.uid


def test_rescheduled_invitation_keeps_the_uid_and_raises_the_sequence(booking):
    with organization_context(booking.organization):
        moved = reschedule_booking(invitee_access(booking), booking, start=THURSDAY_0900_AMSTERDAM)
        _, event = _event(invitation(moved, method=REQUEST))
    assert event["UID"] == booking.uid
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == THURSDAY_0900_AMSTERDAM


def test_cancelled_booking_gives_a_cancel_with_cancelled_status(booking):
    with organization_context(booking.organization):
        cancelled = cancel_booking(invitee_access(booking), booking)
        calendar, event = _event(invitation(cancelled, method=CANCEL))
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == booking.uid
    assert event["SEQUENCE"] == 1
    assert event["ATTENDEE"].params["PARTSTAT"] == "DECLINED"


def test_pending_booking_is_tentative():
    approval_type = MeetingTypeFactory.create(requires_approval=True)
    pending = book(approval_type, TUESDAY_1500_AMSTERDAM)
    with organization_context(pending.organization):
        _, event = _event(invitation(pending, method=REQUEST))
    assert event["STATUS"] == "TENTATIVE"
    assert event["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"


def test_unknown_method_is_refused(booking):
    with organization_context(booking.organization), pytest.raises(ValueError, match="method"):
        invitation(booking, method="PUBLISH")

"""The booking flow: booking, the re-check, approval, rescheduling and cancelling."""

from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError

from afspraak.audit.models import AuditEvent
from afspraak.bookings.booking import (
    INSERT_ATTEMPTS,
    SLOT_TAKEN,
    ChangeRefusedError,
    SlotNotOfferedError,
    SlotTakenError,
    approve_booking,
    book_meeting,
    cancel_booking,
    decline_booking,
    free_slots,
    reschedule_booking,
)
from afspraak.bookings.models import Booking, CancelledBy, Status
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import host_of, invitee_access, visitor_access
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import (
    DateOverrideFactory,
    MeetingTypeFactory,
    book,
    invitee_details,
)

pytestmark = pytest.mark.django_db

# Monday 2026-12-07, 09:00 in Amsterdam (CET, UTC+1) is 08:00 UTC.
NOW = CLOCK_START
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def meeting_type():
    return MeetingTypeFactory.create()


@pytest.fixture
def approval_type():
    return MeetingTypeFactory.create(requires_approval=True)


def test_booking_an_offered_slot_confirms_it_with_encrypted_details(meeting_type):
    booking = book(meeting_type, MONDAY_0900, now=NOW, name="Ada Lovelace")
    with organization_context(meeting_type.organization):
        stored = Booking.objects.get(pk=booking.pk)
        assert stored.status == Status.CONFIRMED
        assert stored.end - stored.start == timedelta(minutes=30)
        assert stored.invitee_name == "Ada Lovelace"
        assert stored.location.startswith("https://meet.jit.si/afspraak-")
        assert stored.invitee.email == "invitee0@example.test"
        assert AuditEvent.objects.filter(action="bookings.booking.created").count() == 1


def test_a_booked_slot_is_no_longer_free_and_a_second_booking_is_told_it_was_taken(meeting_type):
    book(meeting_type, MONDAY_0900, now=NOW)
    with organization_context(meeting_type.organization):
        slots = free_slots(
            visitor_access(meeting_type.organization),
            meeting_type,
            window_start=MONDAY_0900,
            window_end=MONDAY_0900 + timedelta(hours=2),
            now=NOW,
        )
        assert MONDAY_0900 not in slots
        assert MONDAY_0900 + timedelta(minutes=30) in slots
    with pytest.raises(SlotTakenError) as taken:
        book(meeting_type, MONDAY_0900, now=NOW, n=1)
    assert taken.value.message == SLOT_TAKEN


@pytest.mark.parametrize(
    "start",
    [
        NOW - timedelta(days=1),  # in the past
        NOW + timedelta(minutes=30),  # inside the minimum notice
        datetime(2026, 12, 5, 9, 0, tzinfo=UTC),  # a Saturday
        MONDAY_0900 + timedelta(minutes=10),  # off the slot grid
        NOW + timedelta(days=90),  # beyond the horizon
    ],
)
def test_a_time_not_offered_is_refused_and_nothing_is_written(meeting_type, start):
    with pytest.raises(SlotNotOfferedError):
        book(meeting_type, start, now=NOW)
    with organization_context(meeting_type.organization):
        assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"name": " "}, "name"),
        ({"name": "Ada\nBcc: victim@example.test"}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        # zoneinfo loads these, but they are not zones people live in.
        ({"timezone": "Factory"}, "timezone"),
        ({"timezone": "US/Pacific"}, "timezone"),
        ({"timezone": "Etc/UTC"}, "timezone"),
        ({"phone": "call me"}, "phone"),
    ],
)
def test_bad_invitee_details_are_refused_per_field(meeting_type, details, field):
    with organization_context(meeting_type.organization), pytest.raises(ValidationError) as error:
        book_meeting(
            visitor_access(meeting_type.organization),
            meeting_type,
            start=MONDAY_0900,
            details=invitee_details(**details),
            now=NOW,
        )
    assert field in error.value.message_dict


def test_another_types_buffer_takes_the_slot_and_a_touching_slot_stays_bookable(meeting_type):
    buffered = MeetingTypeFactory.create(schedule=meeting_type.schedule, buffer_after_minutes=30)
    book(buffered, MONDAY_0900, now=NOW)  # holds 09:00-10:00 with its buffer

    with pytest.raises(SlotTakenError):
        book(meeting_type, MONDAY_0900 + timedelta(minutes=30), now=NOW, n=1)
    later = book(meeting_type, MONDAY_0900 + timedelta(hours=1), now=NOW, n=1)
    assert later.status == Status.CONFIRMED


def test_the_new_types_own_buffer_reaching_a_booking_takes_the_slot(meeting_type):
    book(meeting_type, MONDAY_0900, now=NOW)  # holds 09:00-09:30
    buffered = MeetingTypeFactory.create(schedule=meeting_type.schedule, buffer_before_minutes=15)

    with pytest.raises(SlotTakenError):
        book(buffered, MONDAY_0900 + timedelta(minutes=30), now=NOW, n=1)
    assert book(buffered, MONDAY_0900 + timedelta(hours=1), now=NOW, n=1).pk


def test_the_re_check_applies_the_date_overrides_of_the_slots_day(meeting_type):
    schedule = meeting_type.schedule
    DateOverrideFactory.create(schedule=schedule, date=date(2026, 12, 7))  # Monday: away
    # Saturday, a day without weekly hours, opened 10:00-12:00 (09:00 UTC).
    DateOverrideFactory.create(
        schedule=schedule, date=date(2026, 12, 12), ranges=[["10:00", "12:00"]]
    )

    with pytest.raises(SlotNotOfferedError):
        book(meeting_type, MONDAY_0900, now=NOW)
    assert book(meeting_type, datetime(2026, 12, 12, 9, 0, tzinfo=UTC), now=NOW).pk
    assert book(meeting_type, MONDAY_0900 + timedelta(days=1), now=NOW, n=1).pk


def test_a_type_at_its_daily_limit_refuses_another_time_that_day():
    limited = MeetingTypeFactory.create(limit_per_day=1)
    book(limited, MONDAY_0900, now=NOW)

    with pytest.raises(SlotTakenError):
        book(limited, MONDAY_0900 + timedelta(hours=3), now=NOW, n=1)
    assert book(limited, MONDAY_0900 + timedelta(days=1), now=NOW, n=1).pk


def test_a_pending_booking_holds_its_slot_and_declining_frees_it(approval_type):
    meeting_type = approval_type
    pending = book(meeting_type, MONDAY_0900, now=NOW)
    assert pending.status == Status.PENDING
    with pytest.raises(SlotTakenError):
        book(meeting_type, MONDAY_0900, now=NOW, n=1)
    with organization_context(meeting_type.organization):
        decline_booking(host_of(pending), pending, now=NOW)
    declined = AuditEvent.objects.get(action="bookings.booking.declined")
    assert (declined.actor, declined.target_id) == (meeting_type.host, pending.public_id)
    assert book(meeting_type, MONDAY_0900, now=NOW, n=1).status == Status.PENDING


def test_approving_confirms_a_pending_booking_once(approval_type):
    meeting_type = approval_type
    pending = book(meeting_type, MONDAY_0900, now=NOW)
    with organization_context(meeting_type.organization):
        assert approve_booking(host_of(pending), pending, now=NOW).status == Status.CONFIRMED
        with pytest.raises(ChangeRefusedError):
            approve_booking(host_of(pending), pending, now=NOW)
    approved = AuditEvent.objects.get(action="bookings.booking.approved")
    assert (approved.actor, approved.data["status"]) == (meeting_type.host, Status.CONFIRMED)


def test_rescheduling_moves_the_booking_raises_its_sequence_and_frees_the_old_time(meeting_type):
    booking = book(meeting_type, MONDAY_0900, now=NOW)
    later = MONDAY_0900 + timedelta(hours=2)
    with organization_context(meeting_type.organization):
        moved = reschedule_booking(invitee_access(booking), booking, start=later, now=NOW)
        assert (moved.start, moved.sequence, moved.public_id) == (later, 1, booking.public_id)
    moved_event = AuditEvent.objects.get(action="bookings.booking.rescheduled")
    assert moved_event.data["by"] == CancelledBy.INVITEE
    assert book(meeting_type, MONDAY_0900, now=NOW, n=1).start == MONDAY_0900


def test_the_invitee_cannot_cancel_after_the_cut_off_but_the_host_can(meeting_type):
    booking = book(meeting_type, MONDAY_0900, now=NOW)
    just_before = MONDAY_0900 - timedelta(minutes=30)
    with organization_context(meeting_type.organization):
        with pytest.raises(ChangeRefusedError):
            cancel_booking(invitee_access(booking), booking, now=just_before)
        cancelled = cancel_booking(host_of(booking), booking, reason="Ill", now=just_before)
        assert (cancelled.status, cancelled.cancel_reason) == (Status.CANCELLED, "Ill")
        assert cancelled.cancelled_by == CancelledBy.HOST
    event = AuditEvent.objects.get(action="bookings.booking.cancelled")
    assert (event.actor, event.data["by"]) == (meeting_type.host, CancelledBy.HOST)


def test_a_cancelled_booking_frees_its_slot(meeting_type, clock):
    booking = book(meeting_type, MONDAY_0900)
    with organization_context(meeting_type.organization):
        cancel_booking(invitee_access(booking), booking)
    assert book(meeting_type, MONDAY_0900, n=1).status == Status.CONFIRMED


def _deadlocks(times: int):
    """Return a Booking.save that fails as a PostgreSQL deadlock ``times`` times, then saves."""
    original = Booking.save
    failures = iter(range(times))

    def save(self, *args, **kwargs):
        if next(failures, None) is not None:
            error = OperationalError("deadlock detected")
            # What Django raises for psycopg's DeadlockDetected (SQLSTATE 40P01).
            error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
            raise error
        return original(self, *args, **kwargs)

    return save


def test_a_deadlock_between_racing_bookings_is_retried(meeting_type, monkeypatch):
    monkeypatch.setattr(Booking, "save", _deadlocks(INSERT_ATTEMPTS - 1))

    booking = book(meeting_type, MONDAY_0900, now=NOW)

    with organization_context(meeting_type.organization):
        assert Booking.objects.get().public_id == booking.public_id


def test_a_booking_that_keeps_deadlocking_is_told_to_choose_again(meeting_type, monkeypatch):
    monkeypatch.setattr(Booking, "save", _deadlocks(INSERT_ATTEMPTS))

    with pytest.raises(SlotTakenError):
        book(meeting_type, MONDAY_0900, now=NOW)

    with organization_context(meeting_type.organization):
        assert not Booking.objects.exists()

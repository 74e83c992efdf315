"""Booking e-mails through a real SMTP server: who gets what, and the invitations they carry.

The host works from Amsterdam and the invitee from New York, in the weeks between the
American and the European change to summer time, when the two are five hours apart
instead of six: a time computed with the usual offset would be an hour off.
"""

import html
import logging
from datetime import UTC, datetime

import pytest
from django.db import connection
from icalendar import Calendar

from afspraak.audit.models import AuditEvent
from afspraak.bookings.booking import (
    approve_booking,
    cancel_booking,
    decline_booking,
    reschedule_booking,
)
from afspraak.bookings.notifications import send_booking_notice
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import host_of, invitee_access
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Tuesday 10 March 2026: 15:00 in Amsterdam (UTC+1) = 14:00 UTC = 10:00 in New York (UTC-4).
TUESDAY_1500_AMSTERDAM = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
# Thursday 12 March 2026: 09:00 in Amsterdam = 08:00 UTC = 04:00 in New York.
THURSDAY_0900_AMSTERDAM = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
INVITEE_EMAIL = "ada@example.test"
INVITEE_NAME = "Ada Lovelace"


@pytest.fixture
def clock_start():
    return NOW


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a booking change and what it sets off after commit (the outbox's delivery)."""

    def run(change):
        already_queued = len(connection.run_on_commit)
        with django_capture_on_commit_callbacks(execute=True):
            result = change()
        # The test's own transaction never commits, so the callbacks just run stay queued,
        # where the outbox would take them for the next change's: a commit clears them.
        del connection.run_on_commit[already_queued:]
        return result

    return run


@pytest.fixture
def meeting_type():
    return MeetingTypeFactory.create(name="Intake call")


def _book(meeting_type, start=TUESDAY_1500_AMSTERDAM):
    return book(meeting_type, start, name=INVITEE_NAME, email=INVITEE_EMAIL)


def _only(mails):
    assert len(mails) == 1, [mail.subject for mail in mails]
    return mails[0]


def _invitation(mail):
    """Return the calendar of the invite.ics attachment, checking the inline part agrees."""
    attached = mail.attachment("invite.ics")
    (inline,) = mail.calendar_parts()
    assert inline.get_content().encode() == attached
    calendar = Calendar.from_ical(attached)
    assert inline.get_param("method") == calendar["METHOD"]
    return calendar, calendar.walk("VEVENT")[0]


def test_confirmation_reaches_invitee_and_host_with_a_request_in_utc(
    smtp_server, committed, meeting_type
):
    booking = committed(lambda: _book(meeting_type))
    host = meeting_type.host

    to_invitee = _only(smtp_server.to(INVITEE_EMAIL))
    to_host = _only(smtp_server.to(host.email))
    assert len(smtp_server.messages) == 2
    assert to_invitee.subject.startswith("[Afspraak] Confirmed: Intake call with")
    assert "Tuesday 10 March 2026, 10:00-10:30 (America/New_York)" in to_invitee.subject
    assert "Tuesday 10 March 2026, 10:00-10:30 (America/New_York)" in to_invitee.text()
    assert "Tuesday 10 March 2026, 15:00-15:30 (Europe/Amsterdam)" in to_host.text()
    assert INVITEE_EMAIL in to_host.text()
    assert to_invitee.message["Reply-To"] == host.email
    assert "/b/" in to_invitee.text()
    assert "/b/" not in to_host.text()
    assert f"/bookings/{booking.public_id}/" in to_host.text()

    for mail in (to_invitee, to_host):
        calendar, event = _invitation(mail)
        assert calendar["METHOD"] == "REQUEST"
        assert event["UID"] == booking.uid
        assert event["SEQUENCE"] == 0
        assert event.decoded("DTSTART") == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
        assert event.decoded("DTEND") == datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
        assert event["DTSTART"].to_ical() == b"20260310T140000Z"


def test_the_invitees_confirmation_names_the_host_in_text_and_html(
    smtp_server, committed, meeting_type
):
    committed(lambda: _book(meeting_type))
    host_name = meeting_type.host.full_name
    assert host_name

    to_invitee = _only(smtp_server.to(INVITEE_EMAIL))
    html_part = to_invitee.message.get_body(preferencelist=("html",))
    assert html_part is not None
    assert host_name in to_invitee.text()
    assert host_name in html.unescape(str(html_part.get_content()))


def test_reschedule_sends_an_update_with_the_same_uid_and_a_higher_sequence(
    smtp_server, committed, meeting_type
):
    booking = committed(lambda: _book(meeting_type))
    _, first = _invitation(_only(smtp_server.to(INVITEE_EMAIL)))
    smtp_server.clear()

    def move():
        with organization_context(meeting_type.organization):
            return reschedule_booking(
                invitee_access(booking), booking, start=THURSDAY_0900_AMSTERDAM
            )

    committed(move)
    to_invitee = _only(smtp_server.to(INVITEE_EMAIL))
    to_host = _only(smtp_server.to(meeting_type.host.email))
    assert to_invitee.subject.startswith("[Afspraak] Moved:")
    assert "Was:   Tuesday 10 March 2026, 10:00-10:30 (America/New_York)" in to_invitee.text()
    assert "Now:   Thursday 12 March 2026, 04:00-04:30 (America/New_York)" in to_invitee.text()
    assert "Was:   Tuesday 10 March 2026, 15:00-15:30 (Europe/Amsterdam)" in to_host.text()
    assert "Now:   Thursday 12 March 2026, 09:00-09:30 (Europe/Amsterdam)" in to_host.text()
    for mail in (to_invitee, to_host):
        calendar, event = _invitation(mail)
        assert calendar["METHOD"] == "REQUEST"
        assert event["UID"] == first["UID"]
        assert event["SEQUENCE"] > first["SEQUENCE"]
        assert event.decoded("DTSTART") == THURSDAY_0900_AMSTERDAM


def test_cancellation_sends_method_cancel_with_the_hosts_message(
    smtp_server, committed, meeting_type
):
    booking = committed(lambda: _book(meeting_type))
    smtp_server.clear()

    def cancel():
        with organization_context(meeting_type.organization):
            return cancel_booking(host_of(booking), booking, reason="I am ill, sorry.")

    committed(cancel)
    to_invitee = _only(smtp_server.to(INVITEE_EMAIL))
    _only(smtp_server.to(meeting_type.host.email))
    assert to_invitee.subject.startswith("[Afspraak] Cancelled:")
    assert "Message: I am ill, sorry." in to_invitee.text()
    calendar, event = _invitation(to_invitee)
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == booking.uid
    assert event["SEQUENCE"] == 1


def test_pending_booking_asks_the_host_and_approval_sends_the_request(smtp_server, committed):
    approval_type = MeetingTypeFactory.create(name="Intake call", requires_approval=True)
    host = approval_type.host
    booking = committed(lambda: _book(approval_type))

    waiting = _only(smtp_server.to(INVITEE_EMAIL))
    asked = _only(smtp_server.to(host.email))
    assert waiting.subject.startswith("[Afspraak] Waiting for approval:")
    assert waiting.calendar_parts() == []
    assert asked.subject.startswith("[Afspraak] Please approve:")
    assert f"/o/{approval_type.organization.slug}/bookings/{booking.public_id}/" in asked.text()
    smtp_server.clear()

    def approve():
        with organization_context(approval_type.organization):
            return approve_booking(host_of(booking), booking)

    committed(approve)
    confirmed = _only(smtp_server.to(INVITEE_EMAIL))
    _only(smtp_server.to(host.email))
    assert confirmed.subject.startswith("[Afspraak] Confirmed:")
    calendar, event = _invitation(confirmed)
    assert calendar["METHOD"] == "REQUEST"
    assert event["UID"] == booking.uid
    assert event["SEQUENCE"] == 1
    assert event["STATUS"] == "CONFIRMED"


def test_declining_sends_a_cancel_with_the_reason(smtp_server, committed):
    approval_type = MeetingTypeFactory.create(requires_approval=True)
    booking = committed(lambda: _book(approval_type))
    smtp_server.clear()

    def decline():
        with organization_context(approval_type.organization):
            return decline_booking(host_of(booking), booking, reason="Fully booked.")

    committed(decline)
    declined = _only(smtp_server.to(INVITEE_EMAIL))
    assert declined.subject.startswith("[Afspraak] Declined:")
    assert "Message: Fully booked." in declined.text()
    calendar, _ = _invitation(declined)
    assert calendar["METHOD"] == "CANCEL"


def test_a_notice_made_stale_by_a_cancellation_is_not_sent(smtp_server, meeting_type):
    # Booked and cancelled before the confirmation job ran: only the cancellation goes out.
    booking = _book(meeting_type)
    with organization_context(meeting_type.organization):
        cancel_booking(invitee_access(booking), booking)
    sent = send_booking_notice(
        organization_public_id=meeting_type.organization.public_id,
        booking_public_id=booking.public_id,
        notice="confirmed",
        recipient="invitee",
    )
    assert sent is False
    assert smtp_server.messages == []


def test_email_jobs_log_and_audit_no_personal_data(smtp_server, committed, meeting_type, caplog):
    caplog.set_level(logging.DEBUG)
    booking = committed(lambda: _book(meeting_type))

    def cancel():
        with organization_context(meeting_type.organization):
            return cancel_booking(invitee_access(booking), booking, reason="Double booked")

    committed(cancel)
    assert len(smtp_server.messages) == 4
    # A mail server that is down fails the job; the booking stands, and the log of the
    # failure names no address either.
    smtp_server.stop()
    committed(lambda: _book(meeting_type, THURSDAY_0900_AMSTERDAM))

    secrets_ = (INVITEE_EMAIL, INVITEE_NAME, meeting_type.host.email, "Double booked")
    # The application's and the job runner's lines, not the test SMTP server's own.
    ours = [r for r in caplog.records if r.name.split(".")[0] in ("afspraak", "huey", "django")]
    assert ours
    logged = "\n".join(logging.Formatter().format(record) for record in ours)
    assert "sending failed: ConnectionRefusedError" in logged
    for value in secrets_:
        assert value not in logged
    for event in AuditEvent.objects.all():
        assert not any(value in str(event.data) for value in secrets_)

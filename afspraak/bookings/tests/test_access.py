"""The booking flow refuses, through the ``Access`` given, what the actor may not do."""

from datetime import UTC, datetime

import pytest
from django.db import transaction

from afspraak.audit.models import AuditEvent, OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.bookings.booking import approve_booking, cancel_booking
from afspraak.bookings.models import Booking, CancelledBy, Status
from afspraak.bookings.notifications import BOOKING_EMAIL_TOPIC, outbox_message_id
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Permission, Role
from afspraak.testing.access import host_of, invitee_access, member_of, visitor_access
from afspraak.testing.factories import MeetingTypeFactory, MembershipFactory, book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TUESDAY_0900 = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def _stored(booking):
    with organization_context(booking.organization):
        return Booking.objects.get(pk=booking.pk)


def test_an_invitees_link_to_one_booking_cannot_cancel_another():
    meeting_type = MeetingTypeFactory.create()
    mine = book(meeting_type, MONDAY_0900)
    theirs = book(meeting_type, TUESDAY_0900, n=1)

    with pytest.raises(AccessDeniedError) as refused:
        cancel_booking(invitee_access(mine), theirs)

    assert refused.value.permission == Permission.CHANGE_OWN_BOOKING
    assert _stored(theirs).status == Status.CONFIRMED
    assert not AuditEvent.objects.filter(action="bookings.booking.cancelled").exists()


def test_the_invitees_cancellation_is_by_the_invitee_and_the_hosts_by_the_host():
    meeting_type = MeetingTypeFactory.create()
    first = book(meeting_type, MONDAY_0900)
    second = book(meeting_type, TUESDAY_0900, n=1)

    cancel_booking(invitee_access(first), first)
    cancel_booking(host_of(second), second)

    assert _stored(first).cancelled_by == CancelledBy.INVITEE
    assert _stored(second).cancelled_by == CancelledBy.HOST
    events = AuditEvent.objects.filter(action="bookings.booking.cancelled").order_by("pk")
    assert [(e.data["by"], e.actor) for e in events] == [
        (CancelledBy.INVITEE, None),
        (CancelledBy.HOST, meeting_type.host),
    ]


@pytest.mark.parametrize(
    ("role", "permission"),
    [(Role.MEMBER, Permission.VIEW_ALL_BOOKINGS), (Role.AUDITOR, Permission.VIEW_ALL_BOOKINGS)],
)
def test_a_member_who_does_not_host_the_booking_cannot_approve_it(role, permission):
    meeting_type = MeetingTypeFactory.create(requires_approval=True)
    pending = book(meeting_type, MONDAY_0900)
    other = MembershipFactory.create(organization=meeting_type.organization, role=role).user

    with pytest.raises(AccessDeniedError) as refused:
        approve_booking(member_of(meeting_type.organization, other), pending)

    assert refused.value.permission == permission
    assert _stored(pending).status == Status.PENDING
    assert not AuditEvent.objects.filter(action="bookings.booking.approved").exists()


def test_a_visitor_cannot_cancel_a_booking():
    meeting_type = MeetingTypeFactory.create()
    booking = book(meeting_type, MONDAY_0900)

    with pytest.raises(AccessDeniedError):
        cancel_booking(visitor_access(meeting_type.organization), booking)

    assert _stored(booking).status == Status.CONFIRMED


def test_a_booking_rolled_back_sends_no_email(smtp_server, django_capture_on_commit_callbacks):
    meeting_type = MeetingTypeFactory.create()

    def book_then_fail():
        with transaction.atomic():
            book(meeting_type, MONDAY_0900)
            assert OutboxMessage.objects.filter(topic=BOOKING_EMAIL_TOPIC).count() == 2
            raise RuntimeError("the request failed after booking")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        book_then_fail()

    assert callbacks == []
    assert not OutboxMessage.objects.filter(topic=BOOKING_EMAIL_TOPIC).exists()
    assert deliver_due() == 0
    assert smtp_server.messages == []


def test_a_committed_booking_is_emailed_once_with_ids_only_in_the_outbox(
    smtp_server, django_capture_on_commit_callbacks
):
    meeting_type = MeetingTypeFactory.create()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        booking = book(meeting_type, MONDAY_0900, email="ada@example.test")
    # Nothing leaves before the commit.
    assert smtp_server.messages == []
    for callback in callbacks:
        callback()

    messages = list(OutboxMessage.objects.filter(topic=BOOKING_EMAIL_TOPIC).order_by("pk"))
    assert [m.payload["recipient"] for m in messages] == ["invitee", "host"]
    for message in messages:
        assert message.delivered_at is not None
        assert set(message.payload) == {
            "organization",
            "booking",
            "notice",
            "recipient",
            "previous_start",
        }
        assert message.payload["booking"] == booking.public_id
    assert sorted(mail.message["Message-ID"] for mail in smtp_server.messages) == sorted(
        outbox_message_id(message) for message in messages
    )
    assert len(smtp_server.to("ada@example.test")) == 1
    assert len(smtp_server.to(meeting_type.host.email)) == 1

    # A later dispatcher run finds them delivered and sends nothing again.
    deliver_due()
    assert len(smtp_server.messages) == 2

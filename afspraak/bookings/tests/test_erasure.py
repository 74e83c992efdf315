"""An invitee erases their personal data from their booking's link."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from afspraak.audit.models import DeletionRecord, OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.bookings.erasure import ALREADY_ERASED, ERASED_NAME, erase_invitee_data
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking, Invitee, Status
from afspraak.errors import ConflictError
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import invitee_access
from afspraak.testing.audit import only_event
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.django_db

MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
MARKER = "Zq7Erasure"


@pytest.fixture
def bookings(clock, tenants):
    meeting_type = MeetingTypeFactory.create(
        schedule__organization=tenants.a, schedule__host=tenants.member.user
    )
    name, email = f"{MARKER} Ada", "ada@example.test"
    past = book(meeting_type, MONDAY_0900, name=name, email=email)
    upcoming = book(meeting_type, MONDAY_0900 + timedelta(days=1), name=name, email=email)
    # The first meeting has taken place by the time she asks.
    clock.move_to(MONDAY_0900 + timedelta(hours=3))
    deliver_due()
    return past, upcoming


def _reload(booking: Booking) -> tuple[Booking, Invitee]:
    with organization_context(booking.organization):
        fresh = Booking.objects.select_related("invitee").get(pk=booking.pk)
        return fresh, fresh.invitee


def test_erasure_scrubs_every_booking_cancels_the_upcoming_one_and_confirms_by_email(
    bookings, tenants, mailoutbox
):
    past, upcoming = bookings

    erasure = erase_invitee_data(invitee_access(past), past)

    for booking in (past, upcoming):
        fresh, invitee = _reload(booking)
        assert (fresh.invitee_name, fresh.invitee_phone, fresh.answers) == (ERASED_NAME, "", {})
        assert (invitee.name, invitee.email, invitee.phone, invitee.answers) == (
            ERASED_NAME,
            "",
            "",
            {},
        )
        assert fresh.start == booking.start
    assert _reload(past)[0].status == Status.CONFIRMED
    assert _reload(upcoming)[0].status == Status.CANCELLED
    assert (erasure.erased_bookings, erasure.cancelled_bookings) == (2, 1)
    assert erasure.completed_at is not None
    event = only_event("bookings.invitee.erased")
    assert event.data["cancelled"] == [upcoming.public_id]
    assert sorted(event.data["bookings"]) == sorted([past.public_id, upcoming.public_id])
    (entry,) = DeletionRecord.objects.all()
    assert entry.kind == "invitee"
    assert entry.actor_public_id == past.invitee.public_id
    message = OutboxMessage.objects.get(topic="bookings.erasure_email")
    assert "ada@example.test" not in str(message.payload)

    deliver_due()

    confirmations = [m for m in mailoutbox if "has been erased" in m.subject]
    assert [m.to for m in confirmations] == [["ada@example.test"]]
    # The host is told of the cancellation; the invitee gets no cancellation notice.
    cancelled = [m for m in mailoutbox if "Cancelled:" in m.subject]
    assert [m.to for m in cancelled] == [[tenants.member.user.email]]
    message.refresh_from_db()
    assert "sealed_address" not in message.payload


def test_a_second_erasure_is_refused(bookings):
    past, _ = bookings
    erase_invitee_data(invitee_access(past), past)

    with pytest.raises(ConflictError, match=ALREADY_ERASED):
        erase_invitee_data(invitee_access(past), _reload(past)[0])


def test_the_link_asks_to_confirm_then_erases(bookings, client: Client):
    past, _ = bookings
    url = invitee_url(past, "erase")

    page = client.get(url)
    assert page.status_code == 200
    assert b"Erase my personal data" in page.content

    done = client.post(url)

    assert done.status_code == 200
    assert b"Your personal data is erased" in done.content
    assert _reload(past)[1].name == ERASED_NAME
    assert client.post(url).status_code == 409


def test_admins_see_the_requests_and_members_do_not(bookings, tenants, client: Client):
    past, _ = bookings
    erasure = erase_invitee_data(invitee_access(past), past)
    client.force_login(tenants.admin.user)

    listed = client.get(f"/o/{tenants.a.slug}/bookings/erasures/")

    assert listed.status_code == 200
    assert erasure.invitee_public_id.encode() in listed.content
    client.force_login(tenants.member.user)
    assert client.get(f"/o/{tenants.a.slug}/bookings/erasures/").status_code == 403

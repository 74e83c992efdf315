"""An invitee erases their personal data from their booking's link."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client
from django.utils.html import escape

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


def test_erasure_scrubs_the_links_booking_and_the_invitee_with_their_last_one(
    bookings, tenants, mailoutbox
):
    past, upcoming = bookings

    first = erase_invitee_data(invitee_access(upcoming), upcoming)

    fresh, invitee = _reload(upcoming)
    assert (fresh.invitee_name, fresh.invitee_phone, fresh.answers) == (ERASED_NAME, "", {})
    assert fresh.status == Status.CANCELLED
    assert fresh.start == upcoming.start
    # Her other booking still holds its data, so her own row stays for it.
    assert _reload(past)[0].invitee_name == f"{MARKER} Ada"
    assert (invitee.name, invitee.email) == (f"{MARKER} Ada", "ada@example.test")
    assert (first.erased_bookings, first.cancelled_bookings) == (1, 1)
    assert only_event("bookings.invitee.erased").data["invitee_erased"] is False
    assert DeletionRecord.objects.get().kind == "booking_data"

    last = erase_invitee_data(invitee_access(past), past)

    fresh, invitee = _reload(past)
    assert fresh.invitee_name == ERASED_NAME
    assert fresh.status == Status.CONFIRMED
    assert (invitee.name, invitee.email, invitee.phone, invitee.answers) == (
        ERASED_NAME,
        "",
        "",
        {},
    )
    assert (last.erased_bookings, last.cancelled_bookings) == (1, 0)
    assert sorted(DeletionRecord.objects.values_list("kind", flat=True)) == [
        "booking_data",
        "invitee",
    ]
    message = OutboxMessage.objects.filter(topic="bookings.erasure_email").latest("id")
    assert "ada@example.test" not in str(message.payload)

    deliver_due()

    confirmations = [m for m in mailoutbox if "has been erased" in m.subject]
    assert [m.to for m in confirmations] == [["ada@example.test"], ["ada@example.test"]]
    # The HTML part says what the text part says, in the organization's frame.
    html, kind = confirmations[0].alternatives[0]
    assert kind == "text/html"
    assert escape(tenants.a.name) in html
    assert "has been erased" in html
    # The host is told of the cancellation; the invitee gets no cancellation notice.
    cancelled = [m for m in mailoutbox if "Cancelled:" in m.subject]
    assert [m.to for m in cancelled] == [[tenants.member.user.email]]
    message.refresh_from_db()
    assert "sealed_address" not in message.payload


def test_booking_with_someone_elses_address_erases_nothing_of_theirs(bookings):
    past, upcoming = bookings
    # Someone who knows Ada's address books a free time with it: the booking shares her
    # invitee, and its link is theirs.
    intruders = book(
        upcoming.meeting_type, MONDAY_0900 + timedelta(days=2), name="X", email="ada@example.test"
    )
    assert intruders.invitee_id == upcoming.invitee_id

    erase_invitee_data(invitee_access(intruders), intruders)

    for hers in (past, upcoming):
        fresh, invitee = _reload(hers)
        assert fresh.invitee_name == f"{MARKER} Ada"
        assert fresh.status == hers.status
        assert invitee.email == "ada@example.test"
    assert _reload(intruders)[0].invitee_name == ERASED_NAME


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
    assert _reload(past)[0].invitee_name == ERASED_NAME
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

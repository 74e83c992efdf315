"""The invitee's links: signed, private, and refusing changes the booking no longer allows."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from django.test import Client

from afspraak.bookings.booking import SLOT_TAKEN, free_slots
from afspraak.bookings.links import invitee_token, invitee_url
from afspraak.bookings.models import Booking, CancelledBy, Status
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import visitor_access
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.django_db

MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 Amsterdam, 03:00 New York
TUESDAY_1000 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
PRIVATE = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}


@pytest.fixture
def booking(clock):
    meeting_type = MeetingTypeFactory.create(name="Intake call", change_cutoff_minutes=24 * 60)
    return book(meeting_type, MONDAY_0900, name="Ada Lovelace")


def reload(booking: Booking) -> Booking:
    with organization_context(booking.organization):
        return Booking.objects.get(pk=booking.pk)


def is_free(booking: Booking, start: datetime) -> bool:
    with organization_context(booking.organization):
        slots = free_slots(
            visitor_access(booking.organization),
            booking.meeting_type,
            window_start=start,
            window_end=start + timedelta(minutes=1),
            now=datetime.now(UTC),
        )
    return slots == [start]


def assert_private(response) -> None:
    for header, value in PRIVATE.items():
        assert response[header] == value, header


def test_the_manage_page_shows_the_meeting_in_both_zones_with_its_links(client, booking):
    response = client.get(invitee_url(booking, "manage"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Intake call" in html
    assert "You're scheduled" in html
    assert "Monday 7 December 2026, 03:00 to 03:30 (America/New York, EST)" in html
    assert "Monday 7 December 2026, 09:00 to 09:30 (Europe/Amsterdam, CET)" in html
    assert reload(booking).location in html
    for name in ("cancel", "reschedule", "ics"):
        assert invitee_url(booking, name) in html
    assert_private(response)


def test_a_pending_booking_says_it_waits_for_approval(client, clock):
    meeting_type = MeetingTypeFactory.create(requires_approval=True)
    pending = book(meeting_type, MONDAY_0900)
    html = client.get(invitee_url(pending, "manage")).content.decode()
    assert "Request sent — waiting for approval" in html
    assert "Add to your calendar" not in html


@pytest.mark.parametrize("name", ["manage", "cancel", "reschedule", "ics"])
def test_every_invitee_page_is_private(client, booking, name):
    response = client.get(invitee_url(booking, name))
    assert response.status_code == 200
    assert_private(response)


def test_the_ics_file_is_the_invitation_and_then_its_cancellation(client, booking):
    response = client.get(invitee_url(booking, "ics"))
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/calendar")
    assert "attachment" in response["Content-Disposition"]
    assert "METHOD:REQUEST" in body
    assert f"UID:{booking.uid}" in body
    assert "DTSTART:20261207T080000Z" in body

    client.post(invitee_url(booking, "cancel"), {"reason": ""})
    cancelled = client.get(invitee_url(booking, "ics")).content.decode()
    assert "METHOD:CANCEL" in cancelled
    assert f"UID:{booking.uid}" in cancelled


def _forged(organization_id: str, booking_id: str) -> str:
    return signing.dumps(
        {"o": organization_id, "b": booking_id}, salt="afspraak.bookings.invitee-link-other"
    )


def tampered_tokens(booking: Booking) -> dict[str, str]:
    token = invitee_token(booking)
    other = book(MeetingTypeFactory.create(), MONDAY_0900, n=2)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    return {
        "flipped": flipped,
        "garbage": "not-a-token",
        "other salt": _forged(booking.organization.public_id, booking.public_id),
        # Genuinely signed, but naming the booking under another organization.
        "other organization": signing.dumps(
            {"o": other.organization.public_id, "b": booking.public_id},
            salt="afspraak.bookings.invitee-link",
        ),
        "no such booking": signing.dumps(
            {"o": booking.organization.public_id, "b": "bkg_missing"},
            salt="afspraak.bookings.invitee-link",
        ),
    }


@pytest.mark.parametrize("page", ["", "cancel/", "reschedule/", "invite.ics"])
def test_a_tampered_or_foreign_token_is_404_and_private(client, booking, page):
    for label, token in tampered_tokens(booking).items():
        response = client.get(f"/b/{token}/{page}")
        assert response.status_code == 404, label
        assert_private(response)
        post = client.post(f"/b/{token}/cancel/", {"reason": ""})
        assert post.status_code == 404, label
    assert reload(booking).status == Status.CONFIRMED


def test_any_other_address_under_b_is_a_private_404(client, booking):
    response = client.get(f"/b/{invitee_token(booking)}/secrets/")
    assert response.status_code == 404
    assert_private(response)


def test_a_post_without_the_csrf_token_is_refused_privately(booking):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(invitee_url(booking, "cancel"), {"reason": ""}, secure=True)
    assert response.status_code == 403
    assert_private(response)
    assert reload(booking).status == Status.CONFIRMED


def test_cancelling_frees_the_slot_for_someone_else(client, booking):
    assert not is_free(booking, MONDAY_0900)
    confirm = client.get(invitee_url(booking, "cancel"))
    assert 'name="reason"' in confirm.content.decode()

    response = client.post(invitee_url(booking, "cancel"), {"reason": "I am ill."})

    assert response.status_code == 302
    assert response["Location"] == invitee_url(booking, "manage")
    cancelled = reload(booking)
    assert cancelled.status == Status.CANCELLED
    assert cancelled.cancelled_by == CancelledBy.INVITEE
    assert cancelled.cancel_reason == "I am ill."
    assert is_free(booking, MONDAY_0900)
    book(booking.meeting_type, MONDAY_0900, n=3)  # someone else gets it
    page = client.get(response["Location"]).content.decode()
    assert "Your meeting is cancelled" in page
    assert invitee_url(booking, "cancel") not in page


def test_an_oversized_cancel_message_is_a_form_error(client, booking):
    response = client.post(invitee_url(booking, "cancel"), {"reason": "x" * 1001})
    assert response.status_code == 400
    assert "at most 1000 characters" in response.content.decode()
    assert reload(booking).status == Status.CONFIRMED


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (MONDAY_0900 - timedelta(hours=2), "too late to change this meeting online"),
        (MONDAY_0900 + timedelta(hours=1), "already started or taken place"),
    ],
    ids=["past the cut-off", "meeting passed"],
)
def test_changes_are_refused_after_the_cut_off_and_once_the_meeting_passed(
    client, booking, clock, moment, message
):
    clock.move_to(moment)
    manage = client.get(invitee_url(booking, "manage")).content.decode()
    assert message in manage
    assert invitee_url(booking, "cancel") not in manage

    for name in ("cancel", "reschedule"):
        page = client.get(invitee_url(booking, name))
        assert page.status_code == 409
        assert message in page.content.decode()
        assert_private(page)
    cancel = client.post(invitee_url(booking, "cancel"), {"reason": ""})
    move = client.post(invitee_url(booking, "reschedule"), {"start": "2026-12-14T08:00:00Z"})

    assert (cancel.status_code, move.status_code) == (409, 409)
    assert message in cancel.content.decode()
    assert_private(cancel)
    stored = reload(booking)
    assert (stored.status, stored.start, stored.sequence) == (Status.CONFIRMED, MONDAY_0900, 0)


def test_a_cancelled_booking_cannot_be_rescheduled(client, booking):
    client.post(invitee_url(booking, "cancel"), {"reason": ""})
    response = client.post(invitee_url(booking, "reschedule"), {"start": "2026-12-08T09:00:00Z"})
    assert response.status_code == 409
    assert "has been cancelled" in response.content.decode()
    assert reload(booking).start == MONDAY_0900


def test_rescheduling_moves_the_booking_and_keeps_its_identity(client, booking):
    picker = client.get(
        invitee_url(booking, "reschedule"), {"tz": "Europe/Amsterdam", "date": "2026-12-08"}
    )
    html = picker.content.decode()
    assert picker.status_code == 200
    assert re.search(r'start=2026-12-08T09%3A00%3A00Z[^"]*"[^>]*data-slot>10:00<', html)
    confirm = client.get(
        invitee_url(booking, "reschedule"), {"start": "2026-12-08T09:00:00Z", "tz": "Europe/Paris"}
    )
    assert "Tuesday 8 December 2026, 10:00 to 10:30 (Europe/Paris, CET)" in confirm.content.decode()

    response = client.post(
        invitee_url(booking, "reschedule"), {"start": "2026-12-08T09:00:00Z", "tz": "Europe/Paris"}
    )

    assert response.status_code == 302
    moved = reload(booking)
    assert moved.public_id == booking.public_id
    assert moved.start == TUESDAY_1000
    assert moved.sequence == booking.sequence + 1
    assert moved.status == Status.CONFIRMED
    assert is_free(booking, MONDAY_0900)
    assert not is_free(booking, TUESDAY_1000)
    assert "Your meeting has been moved" in client.get(response["Location"]).content.decode()


def test_the_reschedule_picker_offers_times_the_booking_itself_blocks(client, clock):
    meeting_type = MeetingTypeFactory.create(buffer_after_minutes=30, change_cutoff_minutes=60)
    booking = book(meeting_type, MONDAY_0900)
    query = {"tz": "Europe/Amsterdam", "date": "2026-12-07"}

    picker = client.get(invitee_url(booking, "reschedule"), query).content.decode()

    # 09:30 lies in the booking's own buffer: free for the booking that moves, not for others.
    assert re.search(r'start=2026-12-07T08%3A30%3A00Z[^"]*"[^>]*data-slot>09:30<', picker)
    assert not is_free(booking, MONDAY_0900 + timedelta(minutes=30))
    response = client.post(
        invitee_url(booking, "reschedule"), {"start": "2026-12-07T08:30:00Z", "tz": "UTC"}
    )
    assert response.status_code == 302
    assert reload(booking).start == MONDAY_0900 + timedelta(minutes=30)


def test_rescheduling_onto_a_taken_time_says_so_with_fresh_times(client, booking):
    book(booking.meeting_type, TUESDAY_1000, n=4)
    response = client.post(
        invitee_url(booking, "reschedule"),
        {"start": "2026-12-08T09:00:00Z", "tz": "Europe/Amsterdam"},
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert SLOT_TAKEN in html
    assert "Tuesday 8 December 2026" in html
    assert re.search(r"data-slot>10:30<", html)
    assert not re.search(r"data-slot>10:00<", html)
    assert reload(booking).start == MONDAY_0900


@pytest.mark.parametrize(
    ("start", "status", "message"),
    [
        ("tomorrow", 400, "does not name a time we offer"),
        ("2026-12-12T09:00:00Z", 400, "That time is not offered"),  # a Saturday
        ("2026-11-30T09:00:00Z", 400, "That time is not offered"),  # the past
    ],
)
def test_rescheduling_to_a_bad_time_is_refused_clearly(client, booking, start, status, message):
    response = client.post(invitee_url(booking, "reschedule"), {"start": start})
    assert response.status_code == status
    assert message in response.content.decode()
    assert_private(response)
    assert reload(booking).start == MONDAY_0900


def test_the_reschedule_picker_follows_the_invitees_clock(client, clock):
    booking = book(MeetingTypeFactory.create(), MONDAY_0900)
    query = {"tz": "Europe/Amsterdam", "date": "2026-12-07"}

    american = client.get(
        invitee_url(booking, "reschedule"), query, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.8"
    ).content.decode()
    dutch = client.get(
        invitee_url(booking, "reschedule"), query, HTTP_ACCEPT_LANGUAGE="nl-NL"
    ).content.decode()

    assert re.search(r"data-slot>9:30\sAM<", american)
    assert re.search(r"data-slot>09:30<", dutch)

"""The booking form: details and answers in, an encrypted booking out, clear refusals."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from afspraak.bookings.booking import SLOT_NOT_OFFERED, SLOT_TAKEN
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

MONDAY_0900 = "2026-12-07T08:00:00Z"  # 09:00 in Amsterdam, 03:00 in New York
QUESTIONS = [
    {"key": "topic", "label": "What is it about?", "kind": "short_text", "required": True},
    {"key": "notes", "label": "Anything else?", "kind": "long_text", "required": False},
    {
        "key": "referral",
        "label": "How did you find us?",
        "kind": "single_choice",
        "required": False,
        "choices": ["Search", "A friend", "Other"],
    },
    {
        "key": "days",
        "label": "Other days that suit you",
        "kind": "multiple_choice",
        "required": False,
        "choices": ["Monday", "Tuesday", "Friday"],
    },
    {"key": "callback", "label": "Number to call back", "kind": "phone", "required": False},
    {"key": "consent", "label": "I agree to the terms", "kind": "checkbox", "required": True},
]
REQUIRED_ANSWERS = {"topic": "Taxes", "consent": True}


@pytest.fixture
def meeting_type():
    return MeetingTypeFactory.create(questions=QUESTIONS)


def book_url(meeting_type) -> str:
    return reverse(
        "bookings:book",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )


def form_data(**overrides):
    return {
        "start": MONDAY_0900,
        "name": "Ada Lovelace",
        "email": "ada@example.test",
        "phone": "",
        "timezone": "America/New_York",
        "q_topic": "A second opinion",
        "q_notes": "",
        "q_referral": "A friend",
        "q_days": ["Monday", "Friday"],
        "q_callback": "+31 20 123 4567",
        "q_consent": "on",
    } | overrides


def bookings_of(meeting_type) -> list[Booking]:
    with organization_context(meeting_type.organization):
        return list(Booking.objects.filter(meeting_type=meeting_type))


def test_the_form_shows_the_chosen_time_and_every_question(client, meeting_type):
    response = client.get(book_url(meeting_type), {"start": MONDAY_0900, "tz": "America/New_York"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Monday 7 December 2026, 03:00 to 03:30 (America/New York, EST)" in html
    for question in QUESTIONS:
        assert question["label"] in html
    assert 'type="radio" name="q_referral" value="A friend"' in html
    assert 'type="checkbox" name="q_days" value="Friday"' in html
    assert re.search(r'<input type="text" name="q_topic"[^>]*required', html)
    # The zone chosen with the times is carried, not asked again.
    assert re.search(r'<input type="hidden" name="timezone" value="America/New_York"', html)
    assert '<select name="timezone"' not in html
    assert f'name="start" value="{MONDAY_0900}"' in html


def test_booking_stores_it_encrypted_and_sends_the_invitee_to_their_page(client, meeting_type):
    response = client.post(book_url(meeting_type), form_data())

    [booking] = bookings_of(meeting_type)
    assert response.status_code == 302
    assert response["Location"] == invitee_url(booking, "manage")
    assert booking.start == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert booking.invitee_timezone == "America/New_York"
    with organization_context(meeting_type.organization):
        stored = Booking.objects.get(pk=booking.pk)
        assert stored.invitee_name == "Ada Lovelace"
        assert stored.answers == {
            "topic": "A second opinion",
            "referral": "A friend",
            "days": ["Monday", "Friday"],
            "callback": "+31 20 123 4567",
            "consent": True,
        }
    # Inside the context: on PostgreSQL row-level security hides the row from raw SQL too.
    with organization_context(meeting_type.organization), connection.cursor() as cursor:
        cursor.execute("SELECT sealed FROM bookings_booking WHERE id = %s", [booking.pk])
        (raw,) = cursor.fetchone()
    assert raw.startswith("afs1.")
    assert "Ada" not in raw
    assert "second opinion" not in raw

    manage = client.get(response["Location"])
    assert manage.status_code == 200
    assert "Monday 7 December 2026, 03:00 to 03:30" in manage.content.decode()


def test_a_slot_taken_meanwhile_gets_the_clear_message_and_fresh_times(client, meeting_type):
    form = client.get(book_url(meeting_type), {"start": MONDAY_0900, "tz": "Europe/Amsterdam"})
    assert form.status_code == 200
    book(meeting_type, datetime(2026, 12, 7, 8, 0, tzinfo=UTC), n=1, answers=REQUIRED_ANSWERS)

    response = client.post(book_url(meeting_type), form_data(timezone="Europe/Amsterdam"))

    html = response.content.decode()
    assert response.status_code == 409
    assert SLOT_TAKEN in html
    offered = re.findall(r'name="start" value="([^"]+)"', html)
    assert MONDAY_0900 not in offered
    assert offered[0] == "2026-12-07T08:30:00Z"
    assert len(offered) == 15
    # What the invitee typed is kept, so choosing another time is one click.
    assert 'value="Ada Lovelace"' in html
    assert len(bookings_of(meeting_type)) == 1


def test_opening_the_form_for_a_taken_time_offers_the_days_free_times(client, meeting_type):
    book(meeting_type, datetime(2026, 12, 7, 8, 0, tzinfo=UTC), n=1, answers=REQUIRED_ANSWERS)
    response = client.get(book_url(meeting_type), {"start": MONDAY_0900, "tz": "Europe/Amsterdam"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "not available" in html
    assert re.findall(r'name="start" value="([^"]+)"', html)[0] == "2026-12-07T08:30:00Z"


@pytest.mark.parametrize(
    ("overrides", "status", "message"),
    [
        ({"start": "2026-12-05T10:00:00Z"}, 400, SLOT_NOT_OFFERED),  # a Saturday
        ({"start": "2026-11-30T08:00:00Z"}, 400, SLOT_NOT_OFFERED),  # in the past
        ({"start": "2026-12-07T08:10:00Z"}, 400, SLOT_NOT_OFFERED),  # off the grid
        ({"start": "2026-12-07T08:00:00"}, 400, "does not name a time we offer"),  # no zone
        ({"start": "next monday"}, 400, "does not name a time we offer"),
        ({"start": "9999-12-31T23:00:00-05:00"}, 400, "does not name a time we offer"),
        ({"start": "0001-01-01T00:00:00+05:00"}, 400, "does not name a time we offer"),
        ({"start": ""}, 400, "does not name a time we offer"),
        ({"q_topic": ""}, 400, "This question needs an answer."),
        ({"q_consent": ""}, 400, "Please tick this box to continue."),
        ({"q_topic": "x" * 201}, 400, "Keep this answer under 200 characters."),
        ({"q_notes": "x" * 5001}, 400, "Keep this answer under 5000 characters."),
        ({"timezone": "Mars/Olympus_Mons"}, 400, "Choose a time zone from the list."),
        ({"timezone": "Factory"}, 400, "Choose a time zone from the list."),
        ({"timezone": "US/Eastern"}, 400, "Choose a time zone from the list."),
        ({"q_referral": "Carrier pigeon"}, 400, "Select a valid choice."),
        ({"q_callback": "call me"}, 400, "Enter a phone number"),
        ({"email": "not-an-address"}, 400, "Enter a valid email address."),
        ({"name": ""}, 400, "This field is required."),
    ],
)
def test_bad_input_gets_a_clear_form_error_and_nothing_is_booked(
    client, meeting_type, overrides, status, message
):
    response = client.post(book_url(meeting_type), form_data(**overrides))
    assert response.status_code == status
    assert message in response.content.decode()
    assert bookings_of(meeting_type) == []


def test_every_problem_is_reported_at_once(client, meeting_type):
    response = client.post(
        book_url(meeting_type), form_data(name="", q_topic="", timezone="Nowhere/Atlantis")
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "This field is required." in html
    assert "This question needs an answer." in html
    assert "Choose a time zone from the list." in html


@pytest.mark.parametrize("start", ["2026-02-30T25:00Z", "9999-12-31T23:30:00-05:00", "x" * 500])
def test_a_malformed_start_in_the_link_is_refused_clearly(client, meeting_type, start):
    response = client.get(book_url(meeting_type), {"start": start, "tz": "Europe/Amsterdam"})
    assert response.status_code == 400
    assert "does not name a time we offer" in response.content.decode()


def test_a_booking_without_the_csrf_token_is_refused(meeting_type):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(book_url(meeting_type), form_data(), secure=True)
    assert response.status_code == 403
    assert bookings_of(meeting_type) == []


def test_an_approval_type_says_the_booking_waits_for_the_host(client):
    meeting_type = MeetingTypeFactory.create(requires_approval=True)
    response = client.post(book_url(meeting_type), form_data(), follow=True)
    html = response.content.decode()
    assert "Request sent — waiting for approval" in html
    assert "You will hear from us when the host answers." in html


def test_one_address_submitting_too_many_bookings_is_slowed_down(client, meeting_type, settings):
    settings.ACCOUNT_RATE_LIMITS = settings.ACCOUNT_RATE_LIMITS | {"booking": "2/h/ip"}
    bad = form_data(name="")  # refused, but each attempt still counts
    assert client.post(book_url(meeting_type), bad).status_code == 400
    assert client.post(book_url(meeting_type), bad).status_code == 400

    third = client.post(book_url(meeting_type), form_data())

    assert third.status_code == 429
    assert bookings_of(meeting_type) == []

"""The invitee's page of their booking: headline, when, where, with whom, calendar links."""

import html as html_lib
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from afspraak.bookings.booking import cancel_booking
from afspraak.bookings.links import invitee_url
from afspraak.bookings.tests.test_booking_form import QUESTIONS, book_url, form_data
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import system_access
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 Amsterdam, 03:00 New York


def page(client, booking, **headers) -> str:
    response = client.get(invitee_url(booking, "manage"), headers=headers)
    assert response.status_code == 200
    return response.content.decode()


def links(html: str) -> dict[str, str]:
    """Return each link's text (tags stripped) and its address."""
    found = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>(.*?)</a>', html, flags=re.S)
    return {re.sub(r"<[^>]+>", "", text).strip(): html_lib.unescape(url) for url, text in found}


def test_a_confirmed_booking_says_youre_scheduled_with_every_fact(client):
    meeting_type = MeetingTypeFactory.create(name="Intake call", questions=QUESTIONS)
    meeting_type.host.full_name = "Hanna Host"
    meeting_type.host.save()
    booking = book(
        meeting_type,
        MONDAY_0900,
        email="ada@example.test",
        answers={"topic": "Taxes & <duties>", "consent": True},
    )
    html = page(client, booking, accept_language="en-US")
    assert "You&#x27;re scheduled" in html or "You're scheduled" in html
    assert "Monday 7 December 2026, 3:00 AM to 3:30 AM (America/New York, EST)" in html
    assert "Hanna Host" in html
    assert "Video call" in html
    assert "Video room (a new link for each booking)" not in html
    assert "What is it about?" in html
    assert "Taxes &amp; &lt;duties&gt;" in html
    assert "We e-mailed a confirmation to <strong>ada@example.test</strong>" in html
    assert "Log in" not in html
    assert "Sign up" not in html

    found = links(html)
    google = urlsplit(found["Google Calendar"])
    assert (google.scheme, google.netloc) == ("https", "calendar.google.com")
    assert parse_qs(google.query)["dates"] == ["20261207T080000Z/20261207T083000Z"]
    assert parse_qs(google.query)["text"] == ["Intake call with Hanna Host"]
    outlook = urlsplit(found["Outlook.com"])
    assert (outlook.scheme, outlook.netloc) == ("https", "outlook.live.com")
    assert parse_qs(outlook.query)["startdt"] == ["2026-12-07T08:00:00Z"]
    assert found["Apple Calendar / other (.ics)"] == invitee_url(booking, "ics")


def test_a_pending_booking_awaits_approval_and_offers_no_calendar_yet(client):
    meeting_type = MeetingTypeFactory.create(requires_approval=True)
    booking = book(meeting_type, MONDAY_0900)
    html = page(client, booking)
    assert "Request sent — waiting for approval" in html
    assert "We e-mailed your request to" in html
    assert "Google Calendar" not in html
    assert "Outlook.com" not in html
    assert ".ics" not in html
    assert "Add to your calendar" not in html


def test_a_cancelled_booking_offers_another_time_and_no_longer_the_video_link(client):
    meeting_type = MeetingTypeFactory.create()
    booking = book(meeting_type, MONDAY_0900)
    with organization_context(meeting_type.organization):
        cancel_booking(system_access(meeting_type.organization), booking)
        booking.refresh_from_db()
    assert booking.location.startswith("https://")
    html = page(client, booking)
    assert "This meeting is cancelled" in html
    assert booking.location not in html
    assert links(html)["Book another time"] == reverse(
        "bookings:meeting_type",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )
    assert "Google Calendar" not in html


def test_back_to_the_form_after_booking_leads_to_the_booking_not_an_error(client):
    meeting_type = MeetingTypeFactory.create(questions=QUESTIONS)
    form_url = book_url(meeting_type)
    query = {"start": "2026-12-07T08:00:00Z", "tz": "America/New_York"}
    assert client.get(form_url, query).status_code == 200
    booked = client.post(form_url, form_data())
    assert booked.status_code == 302

    back = client.get(form_url, query)

    assert back.status_code == 302
    assert back["Location"] == booked["Location"]
    # Another browser asking for that time is told it is gone.
    other = Client().get(form_url, query, secure=True)
    assert other.status_code == 409


def test_the_booking_page_and_form_use_the_invitees_wording_for_where(client):
    meeting_type = MeetingTypeFactory.create()
    page_url = reverse(
        "bookings:meeting_type",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )
    form = client.get(book_url(meeting_type), {"start": "2026-12-07T08:00:00Z"})
    for html in (client.get(page_url).content.decode(), form.content.decode()):
        assert "Video call" in html
        assert "Video room" not in html

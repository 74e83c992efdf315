"""Invitee links stop working 30 days after the meeting; fresh ones come by e-mail, on request."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from afspraak.audit.outbox import deliver_due
from afspraak.bookings.invitee_views import LINK_EXPIRED
from afspraak.bookings.links import LINK_LIFETIME_AFTER_MEETING, invitee_url
from afspraak.testing.factories import MeetingTypeFactory, OrganizationFactory, book

pytestmark = pytest.mark.django_db

MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
MEETING_END = MONDAY_0900 + timedelta(minutes=30)
EXPIRY = MEETING_END + LINK_LIFETIME_AFTER_MEETING
PAGES = ["manage", "cancel", "reschedule", "ics"]
EMAIL = "ada@example.test"


@pytest.fixture
def meeting_type(clock):
    return MeetingTypeFactory.create(name="Intake call")


@pytest.fixture
def booking(meeting_type, mailoutbox):
    booked = book(meeting_type, MONDAY_0900, name="Ada Lovelace", email=EMAIL)
    # The booking's own confirmations leave first, so the tests count fresh links only.
    deliver_due()
    mailoutbox.clear()
    return booked


def new_link_url(organization) -> str:
    return reverse("bookings:new_link", kwargs={"org_slug": organization.slug})


def ask(client, organization, email, capture):
    with capture(execute=True):
        return client.post(new_link_url(organization), {"email": email})


def test_the_lifetime_is_thirty_days_after_the_meeting():
    assert timedelta(days=30) == LINK_LIFETIME_AFTER_MEETING


# After the meeting the booking can no longer be changed (409), but it can be seen.
@pytest.mark.parametrize(
    ("page", "status"), [("manage", 200), ("ics", 200), ("cancel", 409), ("reschedule", 409)]
)
def test_a_link_works_until_thirty_days_after_the_meeting(client, booking, clock, page, status):
    url = invitee_url(booking, page)
    clock.move_to(EXPIRY - timedelta(seconds=1))
    assert client.get(url).status_code == status


@pytest.mark.parametrize("page", PAGES)
def test_an_expired_link_says_so_and_offers_fresh_links(client, booking, clock, page):
    url = invitee_url(booking, page)
    clock.move_to(EXPIRY)
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 410
    assert LINK_EXPIRED in html
    assert f'action="{new_link_url(booking.organization)}"' in html
    assert "Intake call" not in html
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_link_signed_in_2001_opens_nothing(client):
    with time_machine.travel(datetime(2001, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        meeting_type = MeetingTypeFactory.create()
        old = book(meeting_type, datetime(2001, 3, 5, 9, 0, tzinfo=UTC))
        url = invitee_url(old, "manage")
    assert client.get(url).status_code == 410
    assert client.post(invitee_url(old, "cancel"), {"reason": ""}).status_code == 410


def test_fresh_links_are_mailed_to_an_invitee_within_the_window(
    client, booking, clock, mailoutbox, django_capture_on_commit_callbacks
):
    clock.move_to(EXPIRY - timedelta(days=1))
    response = ask(
        client, booking.organization, " ADA@example.test ", django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert "we have e-mailed it fresh links" in response.content.decode()
    (mail,) = mailoutbox
    assert mail.to == [EMAIL]
    assert booking.organization.name in mail.subject
    assert "Intake call" in mail.body
    fresh = invitee_url(booking)
    assert fresh in mail.body
    assert client.get(fresh).status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_address_booked(
    client, booking, clock, mailoutbox, django_capture_on_commit_callbacks
):
    organization = booking.organization
    other = OrganizationFactory.create()
    answers = [
        ask(client, organization, EMAIL, django_capture_on_commit_callbacks),
        ask(client, organization, "nobody@example.test", django_capture_on_commit_callbacks),
        # The invitee's address, asked of another organization.
        ask(client, other, EMAIL, django_capture_on_commit_callbacks),
    ]
    shown = [
        answer.content.decode().replace(organization.name, "").replace(other.name, "")
        for answer in answers
    ]
    assert {answer.status_code for answer in answers} == {200}
    assert shown[0] == shown[1] == shown[2]
    assert len(mailoutbox) == 1


def test_nothing_is_mailed_for_bookings_past_the_window(
    client, booking, clock, mailoutbox, django_capture_on_commit_callbacks
):
    clock.move_to(EXPIRY)
    response = ask(client, booking.organization, EMAIL, django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert mailoutbox == []


def test_a_bad_address_is_a_form_error(client, booking):
    response = client.post(new_link_url(booking.organization), {"email": "not an address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_the_page_of_an_unknown_organization_is_404(client, db):
    response = client.get(reverse("bookings:new_link", kwargs={"org_slug": "no-such-org"}))
    assert response.status_code == 404


def test_one_address_asking_too_often_is_slowed_down(client, booking, settings, mailoutbox):
    settings.ACCOUNT_RATE_LIMITS = settings.ACCOUNT_RATE_LIMITS | {"invitee_link": "2/h/ip"}
    url = new_link_url(booking.organization)
    assert client.post(url, {"email": "bad"}).status_code == 400
    assert client.post(url, {"email": "bad"}).status_code == 400
    assert client.post(url, {"email": EMAIL}).status_code == 429
    assert mailoutbox == []


def test_one_e_mail_address_asked_for_too_often_is_slowed_down(
    client, booking, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.ACCOUNT_RATE_LIMITS = settings.ACCOUNT_RATE_LIMITS | {"invitee_link_email": "2/h/key"}
    organization = booking.organization
    for _ in range(2):
        assert (
            ask(client, organization, EMAIL, django_capture_on_commit_callbacks).status_code == 200
        )
    refused = ask(client, organization, EMAIL.upper(), django_capture_on_commit_callbacks)
    assert refused.status_code == 429
    assert len(mailoutbox) == 2
    other = ask(client, organization, "nobody@example.test", django_capture_on_commit_callbacks)
    assert other.status_code == 200

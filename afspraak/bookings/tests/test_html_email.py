"""Booking e-mails carry an HTML part beside the text, through a real SMTP server."""

import re

import pytest

from afspraak.bookings import link_renewal, reschedule_requests
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking
from afspraak.bookings.tests.test_notifications import (
    INVITEE_EMAIL,
    TUESDAY_1500_AMSTERDAM,
    _only,
    clock_start,  # noqa: F401 - the module's moment, for the clock
    committed,  # noqa: F401 - the fixture that runs the outbox after the change
)
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def html_of(mail) -> str:
    part = mail.message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no text/html part"
    return str(part.get_content())


def test_a_confirmation_has_a_text_and_an_escaped_html_part(smtp_server, committed):  # noqa: F811
    meeting_type = MeetingTypeFactory.create(
        name="Intake <call>", schedule__organization__name="Alpha & <Sons>"
    )
    committed(
        lambda: book(
            meeting_type, TUESDAY_1500_AMSTERDAM, name="Ada <b>Lovelace</b>", email=INVITEE_EMAIL
        )
    )
    mail = _only(smtp_server.to(INVITEE_EMAIL))
    text, html = mail.text(), html_of(mail)

    assert "Hello Ada <b>Lovelace</b>," in text
    assert "Hello Ada &lt;b&gt;Lovelace&lt;/b&gt;," in html
    assert "Alpha &amp; &lt;Sons&gt;" in html
    assert "Intake &lt;call&gt;" in html
    assert "<b>" not in html
    for part in (text, html):
        assert "{{" not in part
        assert "{%" not in part
        assert "Tuesday 10 March 2026, 10:00-10:30 (America/New_York)" in part
    [button] = re.findall(r'<a href="(https://[^"]+/b/[^"]+/)"[^>]*>Open your booking</a>', html)
    assert button in text
    # No image or stylesheet from elsewhere: nothing loads when the mail is opened.
    assert not re.search(r"<img|<link|url\(", html)
    assert mail.calendar_parts(), "the invitation is still attached"


def test_account_emails_greet_with_the_product_not_the_server(client, smtp_server, settings):
    client.post("/accounts/password/reset/", {"email": "nobody@example.test"})
    [mail] = smtp_server.messages
    assert "Hello from Afspraak!" in mail.text()
    assert "localhost" not in mail.text().splitlines()[0]


def test_a_reschedule_request_has_a_branded_escaped_html_part_with_its_link(smtp_server):
    meeting_type = MeetingTypeFactory.create(
        name="Intake <call>", schedule__organization__name="Alpha & <Sons>"
    )
    organization = meeting_type.schedule.organization
    organization.accent_colour = "#7a2e8a"
    organization.save(update_fields=["accent_colour"])
    booking = book(
        meeting_type, TUESDAY_1500_AMSTERDAM, name="Ada <b>Lovelace</b>", email=INVITEE_EMAIL
    )
    with organization_context(organization):
        reschedule_requests._message(Booking.objects.get(pk=booking.pk)).send()

    mail = _only(smtp_server.to(INVITEE_EMAIL))
    text, html = mail.text(), html_of(mail)
    assert "Ada <b>Lovelace</b>" in text
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html
    assert "<b>" not in html
    assert "Please choose another time: Intake &lt;call&gt;" in html
    assert "Sent by Afspraak for Alpha &amp; &lt;Sons&gt;." in html
    [button] = re.findall(
        r'<a href="(https://[^"]+/reschedule/)"[^>]*background:#7a2e8a[^>]*>'
        r"Choose another time</a>",
        html,
    )
    assert button in text


def test_fresh_links_have_an_html_part_with_every_link(smtp_server):
    meeting_type = MeetingTypeFactory.create(name="Intake call")
    organization = meeting_type.schedule.organization
    booking = book(meeting_type, TUESDAY_1500_AMSTERDAM, name="Ada", email=INVITEE_EMAIL)
    with organization_context(organization):
        loaded = Booking.objects.select_related("organization", "meeting_type").get(pk=booking.pk)
        link_renewal._message(loaded.invitee, [loaded]).send()

    mail = _only(smtp_server.to(INVITEE_EMAIL))
    text, html = mail.text(), html_of(mail)
    fresh = invitee_url(loaded)
    assert fresh in text
    assert f'{fresh}" rel="nofollow">' in html
    assert "Intake call" in html

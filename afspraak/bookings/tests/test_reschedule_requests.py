"""A host asks the invitee to choose another time: a confirmation step, an audited
request, and an e-mail (through the outbox, a real SMTP server) with the invitee's own
reschedule link; refused once the invitee can no longer move the meeting."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from afspraak.bookings.booking import cancel_booking
from afspraak.bookings.models import Booking
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Role
from afspraak.testing.access import invitee_access
from afspraak.testing.audit import events
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import (
    MeetingTypeFactory,
    MembershipFactory,
    ScheduleFactory,
    book,
)

pytestmark = pytest.mark.django_db

NOW = CLOCK_START
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
INVITEE = "ada@example.test"


@pytest.fixture
def booking(tenants, clock):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    meeting_type = MeetingTypeFactory.create(schedule=schedule, name="Intake call")
    return book(meeting_type, MONDAY_0900, now=NOW, name="Ada Lovelace", email=INVITEE)


def _url(booking):
    return f"/o/alpha/bookings/{booking.public_id}/ask-to-reschedule/"


def test_the_detail_page_offers_it_and_asks_first(client, tenants, booking):
    client.force_login(tenants.member.user)
    detail = client.get(f"/o/alpha/bookings/{booking.public_id}/").content.decode()
    assert _url(booking) in detail
    confirm = client.get(_url(booking))
    assert confirm.status_code == 200
    assert "Ask the invitee to choose another time?" in confirm.content.decode()
    assert not events("bookings.booking.reschedule_requested", organization=tenants.a)


def test_the_invitee_is_emailed_their_reschedule_link_and_it_is_audited(
    client, tenants, booking, smtp_server, django_capture_on_commit_callbacks
):
    client.force_login(tenants.member.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(booking))
    del connection.run_on_commit[:]
    assert response.status_code == 302
    (event,) = events("bookings.booking.reschedule_requested", organization=tenants.a)
    assert event.actor == tenants.member.user
    assert event.data == {"booking": booking.public_id}
    (mail,) = [m for m in smtp_server.to(INVITEE) if "another time" in m.subject]
    assert mail.subject == "[Afspraak] Please choose another time: Intake call"
    link = re.search(r"https?://[^/\s]+(/b/[^/\s]+/reschedule/)", mail.text())
    assert link, mail.text()
    page = client.get(link.group(1))
    assert page.status_code == 200
    with organization_context(tenants.a):
        assert Booking.objects.get(pk=booking.pk).start == MONDAY_0900


def test_it_is_refused_once_the_invitee_cannot_move_the_meeting(client, tenants, booking):
    client.force_login(tenants.member.user)
    # Past the cut-off: the invitee may change it only until 30 days before.
    schedule = booking.meeting_type.schedule
    strict = MeetingTypeFactory.create(schedule=schedule, change_cutoff_minutes=30 * 24 * 60)
    late = book(strict, MONDAY_0900 + timedelta(hours=2), now=NOW, n=1)
    refused = client.post(_url(late))
    assert refused.status_code == 409
    assert "The invitee cannot move this meeting: It is too late" in refused.content.decode()
    with organization_context(tenants.a):
        cancel_booking(invitee_access(booking), booking, now=NOW)
    assert client.post(_url(booking)).status_code == 409
    assert not events("bookings.booking.reschedule_requested", organization=tenants.a)


def test_a_member_who_is_not_the_host_gets_404(client, tenants, booking):
    colleague = MembershipFactory.create(organization=tenants.a, role=Role.MEMBER).user
    client.force_login(colleague)
    assert client.get(_url(booking)).status_code == 404
    assert client.post(_url(booking)).status_code == 404
    assert not events("bookings.booking.reschedule_requested", organization=tenants.a)

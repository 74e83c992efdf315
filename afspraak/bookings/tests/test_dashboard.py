"""The host's booking pages: tabs, search through the blind index, detail and the actions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afspraak.bookings.booking import cancel_booking
from afspraak.bookings.models import Booking, CancelledBy, Status
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Role
from afspraak.testing.access import invitee_access
from afspraak.testing.audit import events, only_event
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import MeetingTypeFactory, MembershipFactory, ScheduleFactory, book

pytestmark = pytest.mark.django_db

# The clock's Tuesday noon; Monday 2026-12-07 09:00 in Amsterdam (CET) is 08:00 UTC.
NOW = CLOCK_START
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MADE_UP = "bkg_00000000000000000000"


def _type_of(org, user, **kwargs):
    schedule = ScheduleFactory.create(organization=org, host=user)
    return MeetingTypeFactory.create(schedule=schedule, **kwargs)


@pytest.fixture
def meeting_type(tenants):
    return _type_of(
        tenants.a,
        tenants.member.user,
        questions=[
            {"key": "topic", "label": "What about?", "kind": "short_text", "required": False},
            {"key": "slides", "label": "Bring slides?", "kind": "checkbox"},
        ],
    )


def _listed(client, **query):
    response = client.get("/o/alpha/bookings/", query)
    assert response.status_code == 200
    page = response.content.decode()
    listed = {row["booking"].public_id for row in response.context["rows"]}
    assert all(f'id="{public_id}"' in page for public_id in listed)
    return listed


def test_the_tabs_show_upcoming_pending_past_and_cancelled_bookings(
    client, clock, tenants, meeting_type
):
    approval_type = _type_of(tenants.a, tenants.member.user, requires_approval=True)
    earlier = book(meeting_type, MONDAY_0900, now=NOW, n=1)
    later = book(meeting_type, MONDAY_0900 + 24 * HOUR, now=NOW, n=2)
    pending = book(approval_type, MONDAY_0900 + 26 * HOUR, now=NOW, n=3)
    cancelled = book(meeting_type, MONDAY_0900 + 27 * HOUR, now=NOW, n=4)
    with organization_context(tenants.a):
        cancel_booking(invitee_access(cancelled), cancelled, now=NOW)
    # Monday noon: the 09:00 meeting has passed, Tuesday's is still to come.
    clock.move_to(MONDAY_0900 + 3 * HOUR)
    client.force_login(tenants.member.user)
    assert _listed(client) == {later.public_id}
    assert _listed(client, tab="upcoming") == {later.public_id}
    assert _listed(client, tab="pending") == {pending.public_id}
    assert _listed(client, tab="past") == {earlier.public_id}
    assert _listed(client, tab="cancelled") == {cancelled.public_id}
    assert len(_listed(client, tab="all")) == 4
    assert client.get("/o/alpha/bookings/", {"tab": "someday"}).status_code == 400


def test_search_by_invitee_email_finds_their_bookings_in_any_case_and_with_spaces(
    client, clock, tenants, meeting_type
):
    wanted = book(meeting_type, MONDAY_0900, now=NOW, n=1, email="Ada.Lovelace@Example.test")
    other = book(meeting_type, MONDAY_0900 + HOUR, now=NOW, n=2)
    client.force_login(tenants.member.user)
    assert _listed(client) == {wanted.public_id, other.public_id}
    for typed in ("ada.lovelace@example.test", "  ADA.LOVELACE@EXAMPLE.TEST  "):
        assert _listed(client, tab="all", email=typed) == {wanted.public_id}
    response = client.get("/o/alpha/bookings/", {"email": "nobody@example.test"})
    assert "No bookings here for that search" in response.content.decode()
    bad = client.get("/o/alpha/bookings/", {"email": "not an address"})
    assert bad.status_code == 400
    assert "Enter the invitee&#x27;s whole e-mail address." in bad.content.decode()


def test_the_detail_page_shows_the_invitees_details_in_the_hosts_time_zone(
    client, clock, tenants, meeting_type
):
    booking = book(
        meeting_type,
        MONDAY_0900,
        now=NOW,
        name="Ada Lovelace",
        email="ada@example.test",
        phone="+31 20 123 4567",
        answers={"topic": "Engines", "slides": True},
    )
    client.force_login(tenants.member.user)
    page = client.get(f"/o/alpha/bookings/{booking.public_id}/").content.decode()
    for shown in (
        "Ada Lovelace",
        "ada@example.test",
        "+31 20 123 4567",
        "What about?",
        "Engines",
        "Bring slides?",
        "Monday 7 December 2026, 09:00\u201309:30 (Europe/Amsterdam)",
        "Monday 7 December 2026, 03:00 (America/New_York)",
    ):
        assert shown in page


def test_the_host_cancels_with_a_message_and_it_is_audited(client, clock, tenants, meeting_type):
    booking = book(meeting_type, MONDAY_0900, now=NOW)
    client.force_login(tenants.member.user)
    response = client.post(
        f"/o/alpha/bookings/{booking.public_id}/cancel/", {"reason": "I am ill, sorry."}
    )
    assert response.status_code == 302
    with organization_context(tenants.a):
        stored = Booking.objects.get(pk=booking.pk)
        assert (stored.status, stored.cancelled_by) == (Status.CANCELLED, CancelledBy.HOST)
        assert stored.cancel_reason == "I am ill, sorry."
    (event,) = events("bookings.booking.cancelled", organization=tenants.a)
    assert event.actor == tenants.member.user
    assert event.data["by"] == CancelledBy.HOST
    again = client.post(f"/o/alpha/bookings/{booking.public_id}/cancel/", {"reason": ""})
    assert again.status_code == 409
    assert "This meeting has already been cancelled." in again.content.decode()
    too_long = book(meeting_type, MONDAY_0900 + HOUR, now=NOW, n=1)
    response = client.post(
        f"/o/alpha/bookings/{too_long.public_id}/cancel/", {"reason": "x" * 1001}
    )
    assert response.status_code == 400
    with organization_context(tenants.a):
        assert Booking.objects.get(pk=too_long.pk).status == Status.CONFIRMED


def test_the_host_approves_and_declines_pending_bookings_and_both_are_audited(
    client, clock, tenants
):
    host = tenants.member.user
    approval_type = _type_of(tenants.a, host, requires_approval=True)
    to_approve = book(approval_type, MONDAY_0900, now=NOW, n=1)
    to_decline = book(approval_type, MONDAY_0900 + HOUR, now=NOW, n=2)
    client.force_login(host)
    assert client.post(f"/o/alpha/bookings/{to_approve.public_id}/approve/").status_code == 302
    declined = client.post(
        f"/o/alpha/bookings/{to_decline.public_id}/decline/", {"reason": "Fully booked."}
    )
    assert declined.status_code == 302
    with organization_context(tenants.a):
        assert Booking.objects.get(pk=to_approve.pk).status == Status.CONFIRMED
        assert Booking.objects.get(pk=to_decline.pk).status == Status.DECLINED
    assert only_event("bookings.booking.approved", organization=tenants.a).actor == host
    assert only_event("bookings.booking.declined", organization=tenants.a).actor == host
    refused = client.post(f"/o/alpha/bookings/{to_approve.public_id}/approve/")
    assert refused.status_code == 409
    assert "This booking is not waiting for approval." in refused.content.decode()


def test_a_member_sees_and_acts_on_their_own_bookings_only(client, clock, tenants, meeting_type):
    mine = book(meeting_type, MONDAY_0900, now=NOW, n=1)
    colleague = MembershipFactory.create(organization=tenants.a, role=Role.MEMBER).user
    theirs = book(_type_of(tenants.a, colleague), MONDAY_0900, now=NOW, n=2)
    client.force_login(tenants.member.user)
    assert _listed(client, tab="all") == {mine.public_id}
    assert _listed(client, tab="all", email="invitee2@example.test") == set()
    for method, suffix in (("get", ""), ("post", "cancel/"), ("post", "approve/")):
        probed = getattr(client, method)(f"/o/alpha/bookings/{theirs.public_id}/{suffix}")
        missing = getattr(client, method)(f"/o/alpha/bookings/{MADE_UP}/{suffix}")
        assert probed.status_code == missing.status_code == 404
        assert probed.content == missing.content
    with organization_context(tenants.a):
        assert Booking.objects.get(pk=theirs.pk).status == Status.CONFIRMED
    # Owners (and admins) see every host's bookings and may act on them.
    client.force_login(tenants.owner.user)
    assert _listed(client, tab="all") == {mine.public_id, theirs.public_id}
    assert client.post(f"/o/alpha/bookings/{theirs.public_id}/cancel/").status_code == 302
    with organization_context(tenants.a):
        assert Booking.objects.get(pk=theirs.pk).status == Status.CANCELLED


def test_the_booking_list_takes_the_same_queries_for_more_bookings(
    client, clock, tenants, meeting_type, django_assert_num_queries
):
    book(meeting_type, MONDAY_0900, now=NOW, n=0)
    client.force_login(tenants.member.user)
    client.get("/o/alpha/bookings/")
    with CaptureQueriesContext(connection) as one:
        client.get("/o/alpha/bookings/")
    for n in range(1, 5):
        book(meeting_type, MONDAY_0900 + n * HOUR, now=NOW, n=n)
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(_rows(client.get("/o/alpha/bookings/"))) == 5


def _rows(response):
    return response.context["rows"]

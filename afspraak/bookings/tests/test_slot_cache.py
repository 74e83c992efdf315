"""The booking page's cached slots and picker: never stale after a change, in any process."""

import gzip
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from afspraak.bookings.booking import cancel_booking
from afspraak.bookings.tests.test_concurrency import SharedDatabase, own_connection
from afspraak.scheduling.models import SlotsVersion
from afspraak.scheduling.slot_cache import (
    bump_slots_version,
    slots_version,
    versions_raised_last,
)
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import system_access
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import DateOverrideFactory, MeetingTypeFactory, book

MONDAY = date(2026, 12, 7)
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam
SLOT_0900 = "2026-12-07T08%3A00%3A00Z"
SAVEPOINT_WORDS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def page_url(meeting_type) -> str:
    return reverse(
        "bookings:meeting_type",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )


def offered(client: Client, meeting_type, day: date = MONDAY) -> list[str]:
    """Return the slot starts the booking page offers on ``day`` (Amsterdam time)."""
    response = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam", "date": str(day)})
    assert response.status_code == 200
    return re.findall(r'href="[^"]*start=([^&"]+)[^"]*"[^>]*data-slot>', response.content.decode())


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
class TestChangesReachTheCachedPage:
    def test_a_new_booking_is_not_offered_from_the_cache(self, client):
        meeting_type = MeetingTypeFactory.create()
        assert SLOT_0900 in offered(client, meeting_type)
        book(meeting_type, MONDAY_0900)
        assert SLOT_0900 not in offered(client, meeting_type)

    def test_the_whole_page_kept_for_visitors_without_an_account_is_not_stale(self, client):
        meeting_type = MeetingTypeFactory.create()
        assert SLOT_0900 in offered(client, meeting_type)
        assert SLOT_0900 in offered(client, meeting_type)  # now kept whole
        book(meeting_type, MONDAY_0900)
        assert SLOT_0900 not in offered(client, meeting_type)

    def test_a_signed_in_host_gets_their_own_navigation_not_the_visitors_page(self, client):
        meeting_type = MeetingTypeFactory.create()
        offered(client, meeting_type)
        offered(client, meeting_type)
        client.force_login(meeting_type.host)
        query = {"tz": "Europe/Amsterdam", "date": str(MONDAY)}
        html = client.get(page_url(meeting_type), query).content.decode()
        assert "Log out" in html
        assert SLOT_0900 in html

    def test_a_cancelled_booking_is_offered_again(self, client):
        meeting_type = MeetingTypeFactory.create()
        booking = book(meeting_type, MONDAY_0900)
        assert SLOT_0900 not in offered(client, meeting_type)
        with organization_context(meeting_type.organization):
            cancel_booking(system_access(meeting_type.organization), booking, reason="")
        assert SLOT_0900 in offered(client, meeting_type)

    def test_a_booking_of_another_type_of_the_host_takes_the_time(self, client):
        meeting_type = MeetingTypeFactory.create()
        other = MeetingTypeFactory.create(schedule=meeting_type.schedule)
        assert SLOT_0900 in offered(client, meeting_type)
        book(other, MONDAY_0900)
        assert SLOT_0900 not in offered(client, meeting_type)

    def test_a_date_override_closes_the_day(self, client):
        meeting_type = MeetingTypeFactory.create()
        assert offered(client, meeting_type)
        DateOverrideFactory.create(schedule=meeting_type.schedule, date=MONDAY)
        assert offered(client, meeting_type) == []

    def test_a_longer_duration_changes_the_slots(self, client):
        meeting_type = MeetingTypeFactory.create()
        before = offered(client, meeting_type)
        with organization_context(meeting_type.organization):
            meeting_type.duration_minutes = 240
            meeting_type.slot_interval_minutes = 240
            meeting_type.save()
        assert len(offered(client, meeting_type)) < len(before)

    def test_the_hosts_new_name_is_shown(self, client):
        meeting_type = MeetingTypeFactory.create()
        client.get(page_url(meeting_type))
        host = meeting_type.host
        host.full_name = "Quirine Renamed"
        host.save()
        assert "Quirine Renamed" in client.get(page_url(meeting_type)).content.decode()

    def test_a_login_leaves_the_version_alone(self):
        meeting_type = MeetingTypeFactory.create()
        before = slots_version(meeting_type.host_id)
        host = meeting_type.host
        host.last_login = CLOCK_START
        host.save(update_fields=["last_login"])
        assert slots_version(meeting_type.host_id) == before

    def test_a_booking_raises_the_version_once_as_its_last_statement(self):
        meeting_type = MeetingTypeFactory.create()
        before = slots_version(meeting_type.host_id)
        with CaptureQueriesContext(connection) as queries:
            book(meeting_type, MONDAY_0900)
        assert slots_version(meeting_type.host_id) == before + 1
        # The raise locks the host's version row until the commit: it comes after the
        # audit event and the outbox, so other bookings of the host wait for one statement.
        # (Inside the test's transaction the tenant context also puts its setting back.)
        statements = [
            q["sql"]
            for q in queries
            if not q["sql"].startswith(SAVEPOINT_WORDS) and "set_config" not in q["sql"]
        ]
        assert SlotsVersion._meta.db_table in statements[-1]
        assert sum(SlotsVersion._meta.db_table in sql for sql in statements) == 1

    def test_versions_asked_for_in_the_block_are_raised_once_when_it_ends(self):
        meeting_type = MeetingTypeFactory.create()
        host = meeting_type.host_id
        before = slots_version(host)
        with versions_raised_last():
            bump_slots_version(host)
            with versions_raised_last():  # nested: the outer block raises
                bump_slots_version(host)
            assert slots_version(host) == before
        assert slots_version(host) == before + 1

        def failing_change():
            with transaction.atomic(), versions_raised_last():
                bump_slots_version(host)
                raise RuntimeError("the change fails")

        with pytest.raises(RuntimeError):
            failing_change()
        assert slots_version(host) == before + 1
        bump_slots_version(host)  # outside any block: at once
        assert slots_version(host) == before + 2

    def test_a_slot_within_the_notice_is_no_longer_offered_by_the_cached_page(self, client, clock):
        meeting_type = MeetingTypeFactory.create()  # an hour's notice
        assert SLOT_0900 in offered(client, meeting_type)
        clock.move_to(MONDAY_0900 - timedelta(minutes=60))
        assert SLOT_0900 in offered(client, meeting_type)
        clock.move_to(MONDAY_0900 - timedelta(minutes=59))
        assert SLOT_0900 not in offered(client, meeting_type)


@pytest.mark.django_db(transaction=True)
def test_a_booking_made_through_another_connection_is_not_offered(tmp_path, client):
    """The page is cached by this process; the booking comes through another connection."""
    meeting_type = MeetingTypeFactory.create()
    shared = SharedDatabase(tmp_path)
    shared.publish()
    seen: list[list[str]] = []

    def in_thread(work) -> None:
        def run() -> None:
            with own_connection(shared):
                work()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    in_thread(lambda: seen.append(offered(client, meeting_type)))
    in_thread(lambda: book(meeting_type, MONDAY_0900, now=CLOCK_START))
    in_thread(lambda: seen.append(offered(client, meeting_type)))

    assert SLOT_0900 in seen[0]
    assert SLOT_0900 not in seen[1]


@pytest.mark.django_db
@pytest.mark.usefixtures("clock")
def test_the_kept_page_is_sent_gzipped_to_browsers_that_take_it(client):
    meeting_type = MeetingTypeFactory.create()
    query = {"tz": "Europe/Amsterdam", "date": str(MONDAY)}
    first = client.get(page_url(meeting_type), query)
    client.get(page_url(meeting_type), query)  # now kept whole
    packed = client.get(page_url(meeting_type), query, headers={"accept-encoding": "gzip, br"})
    unpacked = client.get(page_url(meeting_type), query)

    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == first.content == unpacked.content
    assert not unpacked.has_header("Content-Encoding")
    for response in (first, packed, unpacked):
        assert "Accept-Encoding" in response["Vary"]

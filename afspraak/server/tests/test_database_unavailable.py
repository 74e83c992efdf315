"""A request caught in a database or Redis failover gets a retryable 503, nothing half-written."""

import pytest
import redis
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError
from django.urls import reverse

from afspraak.audit.models import AuditEvent
from afspraak.bookings import booking as booking_flow
from afspraak.bookings.models import Booking
from afspraak.scheduling import slot_cache
from afspraak.server.errors import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import MeetingTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def client(client):
    """The HTTPS client, getting the answer a browser would, not the exception behind it."""
    client.raise_request_exception = False
    return client


MONDAY_0900 = "2026-12-07T08:00:00Z"


def _lose_the_database(*args, **kwargs):
    raise OperationalError("server closed the connection unexpectedly")


def test_a_booking_cut_off_by_a_failover_answers_503_and_writes_nothing(client, monkeypatch):
    meeting_type = MeetingTypeFactory.create()
    # The booking row is inserted; the connection is lost before the audit event is.
    monkeypatch.setattr(booking_flow, "_announce", _lose_the_database)
    events_before = AuditEvent.objects.count()

    response = client.post(
        reverse(
            "bookings:book",
            kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
        ),
        {
            "start": MONDAY_0900,
            "name": "Ada Lovelace",
            "email": "ada@example.test",
            "timezone": "America/New_York",
        },
    )

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert UNAVAILABLE_MESSAGE in html
    assert "Traceback" not in html
    with organization_context(meeting_type.organization):
        assert not Booking.objects.filter(meeting_type=meeting_type).exists()
    assert AuditEvent.objects.count() == events_before


def test_the_api_answers_a_lost_connection_with_retryable_json(client, tenants, monkeypatch):
    from afspraak.api import organizations

    def lose_the_connection(*args, **kwargs):
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(organizations, "memberships_of", lose_the_connection)
    client.force_login(tenants.member.user)

    response = client.get("/api/v1/organizations")

    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {"detail": UNAVAILABLE_MESSAGE, "retryable": True}


def test_a_lost_connection_in_a_middleware_answers_503_too(client, tenants, monkeypatch):
    client.force_login(tenants.member.user)
    # The session is the first thing a request reads from the database.
    monkeypatch.setattr(SessionStore, "load", _lose_the_database)

    response = client.get("/o/alpha/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert UNAVAILABLE_MESSAGE in response.content.decode()


def _book_twice_saving_the_session_as(client, monkeypatch, meeting_type, save):
    """Book once (the browser now has a session), then again with ``save`` as the session's."""
    url = reverse(
        "bookings:book",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )
    details = {"name": "Ada Lovelace", "email": "ada@example.test", "timezone": "UTC"}
    assert client.post(url, {"start": MONDAY_0900} | details).status_code == 302
    monkeypatch.setattr(SessionStore, "save", save)
    return client.post(url, {"start": "2026-12-07T09:00:00Z"} | details)


def test_a_failover_after_the_booking_committed_still_confirms_it(client, monkeypatch):
    meeting_type = MeetingTypeFactory.create()

    def lose_the_database_while_saving(self, must_create=False):
        # As Django's SessionStore.save does with a DatabaseError.
        try:
            raise OperationalError("terminating connection due to unexpected postmaster exit")
        except OperationalError:
            raise UpdateError  # noqa: B904

    response = _book_twice_saving_the_session_as(
        client, monkeypatch, meeting_type, lose_the_database_while_saving
    )

    # The booking stands and the invitee is shown it, not told to try again.
    assert response.status_code == 302
    assert "/b/" in response["Location"]
    with organization_context(meeting_type.organization):
        assert Booking.objects.filter(meeting_type=meeting_type).count() == 2


def test_a_session_deleted_meanwhile_is_still_a_bad_request(client, monkeypatch):
    meeting_type = MeetingTypeFactory.create()

    def find_the_session_gone(self, must_create=False):
        raise UpdateError

    response = _book_twice_saving_the_session_as(
        client, monkeypatch, meeting_type, find_the_session_gone
    )

    assert response.status_code == 400


class _LostRedis:
    """The default cache while Sentinel promotes a replica: every call loses its connection."""

    def get(self, *args, **kwargs):
        raise redis.ConnectionError("Connection closed by server.")

    set = get


def test_a_booking_page_cut_off_by_a_redis_failover_answers_503(client, monkeypatch):
    meeting_type = MeetingTypeFactory.create()
    # The slots are cached in Redis in production.
    monkeypatch.setattr(slot_cache, "cache", _LostRedis())

    response = client.get(
        reverse(
            "bookings:meeting_type",
            kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
        )
    )

    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert UNAVAILABLE_MESSAGE in response.content.decode()


def test_other_errors_are_left_alone(client, tenants, monkeypatch):
    from afspraak.api import organizations

    def fail(*args, **kwargs):
        raise RuntimeError("a bug, not a failover")

    monkeypatch.setattr(organizations, "memberships_of", fail)
    client.force_login(tenants.member.user)

    response = client.get("/api/v1/organizations")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
    assert "Retry-After" not in response

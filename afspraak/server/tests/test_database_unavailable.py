"""A request caught in a database failover gets a retryable 503 and leaves nothing half-written."""

import pytest
from django.db import InterfaceError, OperationalError
from django.urls import reverse

from afspraak.audit.models import AuditEvent
from afspraak.bookings import booking as booking_flow
from afspraak.bookings.models import Booking
from afspraak.server.middleware import RETRY_AFTER_SECONDS, UNAVAILABLE_MESSAGE
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import MeetingTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

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


def test_other_errors_are_left_alone(client, tenants, monkeypatch):
    from afspraak.api import organizations

    def fail(*args, **kwargs):
        raise RuntimeError("a bug, not a failover")

    monkeypatch.setattr(organizations, "memberships_of", fail)
    client.force_login(tenants.member.user)

    with pytest.raises(RuntimeError, match="a bug"):
        client.get("/api/v1/organizations")

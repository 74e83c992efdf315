"""No refusal under /b/ writes the invitee's token to the log (the configured handlers)."""

import io
import logging
from datetime import UTC, datetime

import pytest
from django.test import Client

from afspraak.audit.logredaction import RedactSecretsFilter
from afspraak.bookings.links import LINK_LIFETIME_AFTER_MEETING, invitee_token, invitee_url
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.django_db

MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
TUESDAY_1000 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


@pytest.fixture
def booking(clock):
    meeting_type = MeetingTypeFactory.create(change_cutoff_minutes=60)
    return book(meeting_type, MONDAY_0900)


@pytest.fixture
def log_output():
    """Point the handlers that settings.LOGGING configured at one buffer, for one test."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler)
        and any(isinstance(f, RedactSecretsFilter) for f in handler.filters)
    ]
    assert handlers, "settings.LOGGING configured no redacting handler on the root logger"
    buffer = io.StringIO()
    previous = [handler.setStream(buffer) for handler in handlers]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


def test_no_refusal_under_b_logs_the_token(client, booking, clock, log_output):
    token = invitee_token(booking)
    book(booking.meeting_type, TUESDAY_1000, n=1)
    refusals = [
        # A form error.
        (client.post(invitee_url(booking, "cancel"), {"reason": "x" * 1001}), 400),
        # A malformed time.
        (client.post(invitee_url(booking, "reschedule"), {"start": "tomorrow"}), 400),
        # A time taken meanwhile.
        (client.post(invitee_url(booking, "reschedule"), {"start": "2026-12-08T09:00:00Z"}), 409),
        # A POST without its CSRF token.
        (Client(enforce_csrf_checks=True).post(invitee_url(booking, "cancel"), secure=True), 403),
        # A tampered token.
        (client.get(f"/b/{token}x/"), 404),
    ]
    clock.move_to(MONDAY_0900)
    # After the cut-off.
    refusals.append((client.post(invitee_url(booking, "cancel"), {"reason": ""}), 409))
    clock.move_to(booking.end + LINK_LIFETIME_AFTER_MEETING)
    # An expired link.
    refusals.append((client.get(invitee_url(booking, "manage")), 410))

    assert [response.status_code for response, _ in refusals] == [s for _, s in refusals]
    logged = log_output.getvalue()
    assert logged.count("/b/[redacted]/") >= len(refusals)
    assert token not in logged
    assert token.split(":")[0] not in logged

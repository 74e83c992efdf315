"""Bookings for tests, made the way the application makes them: through ``book_meeting``."""

from datetime import datetime
from typing import Any

from afspraak.bookings.booking import InviteeDetails, book_meeting
from afspraak.bookings.models import Booking
from afspraak.scheduling.models import MeetingType
from afspraak.tenancy.context import organization_context


def invitee_details(n: int = 0, **overrides: Any) -> InviteeDetails:
    """Return an invitee's booking details; ``n`` makes the e-mail address distinct."""
    values: dict[str, Any] = {
        "name": f"Invitee {n}",
        "email": f"invitee{n}@example.test",
        "timezone": "America/New_York",
    } | overrides
    return InviteeDetails(**values)


def book(
    meeting_type: MeetingType, start: datetime, *, now: datetime | None = None, **details: Any
) -> Booking:
    """Book ``start`` through the booking flow, inside the organization's context."""
    with organization_context(meeting_type.organization):
        return book_meeting(
            meeting_type,
            start=start,
            details=invitee_details(**details),
            now=now,
        )

"""Bookings for tests, made the way the application makes them: through ``book_meeting``."""

from datetime import datetime
from typing import Any

from afspraak.audit.context import AuditContext
from afspraak.bookings.booking import InviteeDetails, book_meeting
from afspraak.bookings.models import Booking
from afspraak.scheduling.models import MeetingType
from afspraak.tenancy.access import (
    Access,
    access_for_invitee,
    access_for_member,
    access_for_system,
    access_for_visitor,
)


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
    """Book ``start`` through the booking flow, as a visitor of the public pages."""
    return book_meeting(
        visitor_of(meeting_type.organization),
        meeting_type,
        start=start,
        details=invitee_details(**details),
        now=now,
    )


def visitor_of(organization: Any) -> Access:
    """Return the access of an anonymous visitor of ``organization``'s booking pages."""
    return access_for_visitor(organization, AuditContext.system())


def invitee_of(booking: Booking) -> Access:
    """Return the access the invitee's signed link to ``booking`` gives."""
    return access_for_invitee(booking.organization, booking.public_id, AuditContext.system())


def member_of(organization: Any, user: Any) -> Access:
    """Return ``user``'s access as a member of ``organization``, outside a request."""
    return access_for_member(user, organization, AuditContext.system(user))


def host_of(booking_or_type: Any) -> Access:
    """Return the access of the host of a booking or meeting type, as a member."""
    return member_of(booking_or_type.organization, booking_or_type.host)


def system_of(organization: Any) -> Access:
    """Return the access of an operator's command or a job in ``organization``."""
    return access_for_system(organization, AuditContext.system())

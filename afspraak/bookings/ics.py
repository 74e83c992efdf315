"""iCalendar invitations (RFC 5545, iTIP RFC 5546) for a booking.

One VEVENT per booking under its stable UID; every change the invitation must reflect
raised the booking's SEQUENCE, so calendar clients replace the earlier version. Times
are written in UTC (``DTSTART:20260310T140000Z``): exact in every zone, with no
VTIMEZONE for a client to misread; the client shows them in its own zone.

METHOD:REQUEST puts or updates the meeting in the calendar; METHOD:CANCEL removes it.
RSVP is off: the booking is made (or declined) on the booking pages, not by replying
to the invitation.
"""

from datetime import UTC

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event, vCalAddress

from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking, CancelledBy, Status

PRODID = "-//Afspraak//Afspraak booking//EN"
REQUEST = "REQUEST"
CANCEL = "CANCEL"
METHODS = (REQUEST, CANCEL)

_EVENT_STATUS = {
    Status.PENDING: "TENTATIVE",
    Status.CONFIRMED: "CONFIRMED",
    Status.CANCELLED: "CANCELLED",
    Status.DECLINED: "CANCELLED",
}


def host_name(booking: Booking) -> str:
    """Return the name the host goes by (their e-mail address when they gave no name)."""
    return booking.host.full_name or booking.host.email


def summary(booking: Booking) -> str:
    """Return the meeting's title: its type and who meets."""
    return f"{booking.meeting_type.name}: {host_name(booking)} and {booking.invitee_name}"


def _attendee_status(booking: Booking) -> str:
    if booking.status == Status.PENDING:
        return "TENTATIVE"
    if booking.status == Status.CANCELLED and booking.cancelled_by == CancelledBy.INVITEE:
        return "DECLINED"
    return "ACCEPTED"


def _description(booking: Booking, *, for_host: bool) -> str:
    lines = [booking.meeting_type.name]
    if booking.location:
        lines.append(f"Where: {booking.location}")
    if not for_host:
        # The link is the invitee's key to their booking: it goes only into their copy.
        lines.append(f"Reschedule or cancel: {settings.SITE_URL}{invitee_url(booking)}")
    return "\n".join(lines)


def invitation(booking: Booking, *, method: str, for_host: bool = False) -> bytes:
    """Return the booking as an iCalendar object with ``method`` REQUEST or CANCEL."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method)

    event = Event()
    event.add("uid", booking.uid)
    event.add("sequence", booking.sequence)
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", booking.start.astimezone(UTC))
    event.add("dtend", booking.end.astimezone(UTC))
    event.add("summary", summary(booking))
    if booking.location:
        event.add("location", booking.location)
    event.add("description", _description(booking, for_host=for_host))
    event.add("status", _EVENT_STATUS[Status(booking.status)])
    event.add("transp", "OPAQUE")
    event.add(
        "organizer",
        vCalAddress.new(booking.host.email, cn=host_name(booking)),
    )
    event.add(
        "attendee",
        vCalAddress.new(
            booking.invitee.email,
            cn=booking.invitee_name,
            role="REQ-PARTICIPANT",
            partstat=_attendee_status(booking),
            rsvp=False,
        ),
    )
    calendar.add_component(event)
    return calendar.to_ical()

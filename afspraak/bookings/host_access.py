"""What a host sees of bookings: their own, or everyone's with ``Permission.VIEW_ALL_BOOKINGS``.

Another host's booking (for a member) and another organization's booking are the same
``NotFoundError`` as a booking that does not exist. Call these inside ``access.scope()``.
"""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from afspraak.bookings.models import Booking, Invitee, Status, find_invitee_by_email
from afspraak.errors import NotFoundError
from afspraak.tenancy.access import Access
from afspraak.tenancy.models import Organization
from afspraak.tenancy.roles import Permission

BOOKING_NOT_FOUND = "No such booking."
TABS = ("upcoming", "pending", "past", "cancelled", "all")


def sees_all_bookings(access: Access) -> bool:
    """Tell whether ``access`` may see and act on every host's bookings."""
    return access.has(Permission.VIEW_ALL_BOOKINGS)


def require_booking_host_rights(access: Access, booking: Booking) -> None:
    """Refuse unless ``access`` hosts ``booking`` or may act on every host's bookings."""
    actor = access.actor
    if actor is not None and actor.pk == booking.host_id:
        access.require(Permission.HOST)
    else:
        access.require(Permission.VIEW_ALL_BOOKINGS)


def bookings_for(access: Access) -> QuerySet[Booking]:
    """Return the bookings ``access`` may see and act on."""
    bookings = Booking.objects.select_related("meeting_type__schedule", "host", "invitee")
    if sees_all_bookings(access):
        return bookings
    access.require(Permission.HOST)
    return bookings.filter(host_id=access.actor.pk)


def filter_bookings(
    bookings: QuerySet[Booking],
    *,
    organization: Organization,
    tab: str,
    now: datetime,
    email: str = "",
    name: str = "",
) -> QuerySet[Booking]:
    """Narrow ``bookings`` to one tab and, when given, one invitee's e-mail or part of a name.

    The e-mail is found through its blind index. Names are encrypted, so the names of the
    invitees of ``bookings`` are decrypted and compared here, case-insensitively.
    """
    if name:
        wanted = name.casefold()
        invitees = Invitee.objects.filter(bookings__in=bookings).distinct()
        matching = [invitee.pk for invitee in invitees if wanted in invitee.name.casefold()]
        bookings = bookings.filter(invitee_id__in=matching)
    if email:
        invitee = find_invitee_by_email(organization, email)
        if invitee is None:
            return bookings.none()
        bookings = bookings.filter(invitee=invitee)
    if tab == "upcoming":
        return bookings.filter(status=Status.CONFIRMED, end__gt=now).order_by("start", "id")
    if tab == "pending":
        return bookings.filter(status=Status.PENDING).order_by("start", "id")
    if tab == "past":
        return bookings.filter(status=Status.CONFIRMED, end__lte=now).order_by("-start", "-id")
    if tab == "cancelled":
        return bookings.filter(status__in=(Status.CANCELLED, Status.DECLINED)).order_by(
            "-start", "-id"
        )
    return bookings.order_by("-start", "-id")


def get_booking_for(access: Access, public_id: Any) -> Booking:
    """Return the booking ``public_id`` if ``access`` may see it, else NotFoundError."""
    booking = bookings_for(access).filter(public_id=str(public_id)).first()
    if booking is None:
        raise NotFoundError(BOOKING_NOT_FOUND)
    return booking

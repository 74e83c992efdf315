"""What a host sees of bookings: their own, or everyone's with ``can_view_all_bookings``.

Another host's booking (for a member) and another organization's booking are the same
404 as a booking that does not exist. Call these inside the organization's context.
"""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from afspraak.bookings.models import Booking, Status, find_invitee_by_email
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import role_has_permission

BOOKING_NOT_FOUND = "No such booking."
TABS = ("upcoming", "pending", "past", "cancelled", "all")


def sees_all_bookings(membership: Membership) -> bool:
    """Tell whether the member may see and act on every host's bookings."""
    return role_has_permission(membership.role, "can_view_all_bookings")


def bookings_for(membership: Membership) -> QuerySet[Booking]:
    """Return the bookings ``membership`` may see and act on."""
    bookings = Booking.objects.select_related("meeting_type__schedule", "host", "invitee")
    if sees_all_bookings(membership):
        return bookings
    return bookings.filter(host_id=membership.user_id)


def filter_bookings(
    bookings: QuerySet[Booking],
    *,
    organization: Organization,
    tab: str,
    email: str,
    now: datetime,
) -> QuerySet[Booking]:
    """Narrow ``bookings`` to one tab and, when given, one invitee's e-mail (blind index)."""
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


def get_booking_for(membership: Membership, public_id: Any) -> Booking:
    """Return the booking ``public_id`` if ``membership`` may see it, else 404."""
    booking = bookings_for(membership).filter(public_id=str(public_id)).first()
    if booking is None:
        raise Http404(BOOKING_NOT_FOUND)
    return booking

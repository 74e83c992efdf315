"""How the organization's audit log names a booking and its invitee (tenancy cannot import us)."""

from typing import Any

from django.urls import reverse

from afspraak.bookings.models import Booking
from afspraak.tenancy.audit_log import Named, mask_email, provide_target_namer


def _bookings(organization: Any, public_ids: set[str]) -> dict[str, Booking]:
    # Read in the page's tenant context: row-level security shows this organization's only.
    found = Booking.objects.filter(organization=organization, public_id__in=public_ids)
    return {booking.public_id: booking for booking in found.select_related("invitee")}


def name_bookings(organization: Any, public_ids: set[str]) -> dict[str, Named]:
    """Name each booking by its invitee's masked address, linking to its page."""
    return {
        public_id: Named(
            f"the booking of {mask_email(booking.invitee.email)}",
            reverse("dashboard:booking", args=[organization.slug, public_id]),
        )
        for public_id, booking in _bookings(organization, public_ids).items()
    }


def name_invitees(organization: Any, public_ids: set[str]) -> dict[str, Named]:
    """Name the invitee of each booking (the actor of what they did through their link)."""
    return {
        public_id: Named(f"the invitee {mask_email(booking.invitee.email)}")
        for public_id, booking in _bookings(organization, public_ids).items()
    }


def provide() -> None:
    """Hand the namers to the audit log (at start-up)."""
    provide_target_namer("bookings.booking", name_bookings, actor_namer=name_invitees)

"""The invitee's links to their booking: signed, unguessable, and only as good as the booking.

A token names the organization and the booking by their public ids and carries an
HMAC signature under the site's secret key, so it cannot be guessed or altered. It
does not expire by itself: the pages it opens refuse changes once the meeting has
passed or the cut-off is reached, which the booking's own times decide.
"""

from typing import Any

from django.core import signing
from django.urls import reverse

from afspraak.bookings.models import Booking

_SALT = "afspraak.bookings.invitee-link"


def invitee_token(booking: Booking) -> str:
    """Return the signed token of the invitee's links to ``booking``."""
    return signing.dumps(
        {"o": booking.organization.public_id, "b": booking.public_id}, salt=_SALT, compress=False
    )


def read_invitee_token(token: str) -> tuple[str, str] | None:
    """Return (organization public id, booking public id) of a genuine token, else None."""
    try:
        payload: Any = signing.loads(token, salt=_SALT)
    except signing.BadSignature:
        return None
    if not (
        isinstance(payload, dict)
        and isinstance(payload.get("o"), str)
        and isinstance(payload.get("b"), str)
    ):
        return None
    return payload["o"], payload["b"]


def invitee_url(booking: Booking, name: str = "manage") -> str:
    """Return the path of one of the invitee's pages (manage, cancel, reschedule, ics)."""
    return reverse(f"bookings:{name}", kwargs={"token": invitee_token(booking)})

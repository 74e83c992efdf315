"""The invitee's links to their booking: signed, unguessable, and only as good as the booking.

A token names the organization and the booking by their public ids and carries an
HMAC signature under the site's secret key, so it cannot be guessed or altered. The
pages it opens refuse changes once the meeting has passed or the cut-off is reached,
and the link stops opening anything :data:`LINK_LIFETIME_AFTER_MEETING` (30 days)
after the meeting's end: an e-mail forwarded or leaked later reveals nothing. Whoever
still needs the booking asks for fresh links by e-mail address (``bookings:new_link``),
which works while the booking is within that window.
"""

from datetime import datetime, timedelta
from typing import Any

from django.core import signing
from django.urls import reverse

from afspraak.bookings.models import Booking

_SALT = "afspraak.bookings.invitee-link"
# How long after the meeting's end its links keep working (docs/runbooks/bookings.md).
LINK_LIFETIME_AFTER_MEETING = timedelta(days=30)


def links_expire_at(booking: Booking) -> datetime:
    """Return the moment the invitee's links to ``booking`` stop working."""
    return booking.end + LINK_LIFETIME_AFTER_MEETING


def links_have_expired(booking: Booking, now: datetime) -> bool:
    """Tell whether the invitee's links to ``booking`` no longer open it."""
    return now >= links_expire_at(booking)


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

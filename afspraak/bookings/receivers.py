"""What a booking change sets off: its reminders, at once, and its e-mails, after commit."""

from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction

from afspraak.bookings import notifications
from afspraak.bookings.models import Booking


def _enqueue_emails(
    organization_id: str, booking_id: str, notice: str, previous_start: str | None
) -> None:
    from afspraak.bookings.tasks import send_booking_email

    for recipient in notifications.RECIPIENTS:
        if (notice, recipient) in notifications.NOTICES:
            send_booking_email(organization_id, booking_id, notice, recipient, previous_start)


def on_booking_changed(
    sender: type[Booking],
    *,
    booking: Booking,
    change: str,
    previous_start: datetime | None = None,
    **kwargs: Any,
) -> None:
    """Arm or drop the booking's reminders and send its e-mails once the change commits."""
    if booking.holds_time:
        # The change's own time, which its function was given.
        notifications.arrange_reminders(booking, now=booking.updated_at)
    else:
        notifications.drop_unsent_reminders(booking)
    transaction.on_commit(
        partial(
            _enqueue_emails,
            booking.organization.public_id,
            booking.public_id,
            notifications.notice_for_change(change, booking.status),
            previous_start.isoformat() if previous_start is not None else None,
        ),
        # The change is made; a queue that fails now must not turn it into an error page.
        robust=True,
    )

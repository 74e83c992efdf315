"""Background jobs of the bookings app: the reminder run.

Booking e-mails and fresh links go through the outbox (``notifications.send_booking_email``,
``link_renewal.send_fresh_links_email``).
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.bookings import notifications


@db_periodic_task(crontab(minute="*"))
def send_due_reminders() -> int:
    """Send the reminders that are due, each once (see afspraak.bookings.notifications)."""
    return notifications.send_due_reminders()

"""Background jobs of the bookings app: booking e-mails, fresh links and the reminder run.

Jobs take public ids only (never personal data: the queue is not encrypted) and open
the organization's context themselves.
"""

from datetime import datetime

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from afspraak.bookings import link_renewal, notifications


@db_task(retries=3, retry_delay=60)
def send_booking_email(
    organization_id: str,
    booking_id: str,
    notice: str,
    recipient: str,
    previous_start: str | None = None,
) -> bool:
    """Send one booking e-mail (retried a few times when the mail server fails)."""
    return notifications.send_booking_notice(
        organization_public_id=organization_id,
        booking_public_id=booking_id,
        notice=notice,
        recipient=recipient,
        previous_start=datetime.fromisoformat(previous_start) if previous_start else None,
    )


@db_periodic_task(crontab(minute="*"))
def send_due_reminders() -> int:
    """Send the reminders that are due, each once (see afspraak.bookings.notifications)."""
    return notifications.send_due_reminders()


@db_task(retries=3, retry_delay=60)
def send_fresh_links_email(organization_id: str, invitee_id: str) -> bool:
    """Mail an invitee fresh links to their recent bookings (see afspraak.bookings.link_renewal)."""
    return link_renewal.send_fresh_links(
        organization_public_id=organization_id, invitee_public_id=invitee_id
    )

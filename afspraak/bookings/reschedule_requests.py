"""A host asks the invitee to pick another time: the invitee's own reschedule link, by e-mail.

Nothing moves until the invitee chooses a new time through that link (the flow of
``reschedule_booking``, with its cut-off); the host's request is audited and its e-mail
leaves through the outbox after commit, carrying ids only.
"""

import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from afspraak.accounts.html_email import attach_html_part
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.bookings.booking import ChangeRefusedError, invitee_change_refusal
from afspraak.bookings.host_access import BOOKING_NOT_FOUND, require_booking_host_rights
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking
from afspraak.bookings.notifications import NotificationError, format_when
from afspraak.errors import NotFoundError
from afspraak.tenancy.access import Access
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization

logger = logging.getLogger(__name__)

RESCHEDULE_REQUEST_TOPIC = "bookings.reschedule_request_email"


def ask_invitee_to_reschedule(
    access: Access, booking: Booking, *, now: datetime | None = None
) -> None:
    """E-mail the invitee their link to move ``booking``, if they still may move it."""
    if booking.organization_id != access.organization.pk:
        raise NotFoundError(BOOKING_NOT_FOUND)
    require_booking_host_rights(access, booking)
    now = now or timezone.now()
    with access.scope():
        current = Booking.objects.select_related("meeting_type").get(pk=booking.pk)
        refusal = invitee_change_refusal(current, now)
        if refusal is not None:
            raise ChangeRefusedError(f"The invitee cannot move this meeting: {refusal}")
        record(
            "bookings.booking.reschedule_requested",
            context=access.context,
            organization=access.organization,
            target=current,
            data={"booking": current.public_id},
        )
        enqueue(
            RESCHEDULE_REQUEST_TOPIC,
            {"organization": access.organization.public_id, "booking": current.public_id},
        )


@handles(RESCHEDULE_REQUEST_TOPIC)
def send_reschedule_request_email(message: OutboxMessage) -> None:
    """Deliver one host's request to reschedule (nothing is sent for a booking now gone)."""
    organization = Organization.objects.filter(public_id=message.payload["organization"]).first()
    if organization is None:
        return
    with organization_context(organization):
        booking = (
            Booking.objects.select_related("meeting_type", "invitee", "host", "organization")
            .filter(public_id=message.payload["booking"])
            .first()
        )
        if booking is None or invitee_change_refusal(booking, timezone.now()) is not None:
            return
        email = _message(booking)
    try:
        email.send()
    except (smtplib.SMTPException, OSError) as error:
        # The SMTP error's text may quote the recipient's address: keep only its kind.
        raise NotificationError(f"sending failed: {type(error).__name__}") from None
    logger.info("reschedule request sent for booking %s", booking.public_id)


def _message(booking: Booking) -> EmailMultiAlternatives:
    host = booking.host.full_name or booking.organization.name
    reschedule_url = f"{settings.SITE_URL}{invitee_url(booking, 'reschedule')}"
    body = render_to_string(
        "bookings/email/reschedule_request_invitee.txt",
        {
            "invitee_name": booking.invitee.name,
            "host": host,
            "meeting_type": booking.meeting_type.name,
            "when": format_when(booking.start, booking.end, booking.invitee_timezone),
            "reschedule_url": reschedule_url,
            "manage_url": f"{settings.SITE_URL}{invitee_url(booking)}",
        },
    )
    title = f"Please choose another time: {booking.meeting_type.name}"
    message = EmailMultiAlternatives(
        subject=" ".join(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{title}".split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[booking.invitee.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    attach_html_part(
        message,
        title=title,
        organization=booking.organization,
        action_url=reschedule_url,
        action_label="Choose another time",
    )
    return message

"""Fresh invitee links by e-mail, for whoever lost theirs or holds one that expired.

The invitee types an e-mail address on a page of the organization. When it is the
address of one of its invitees (found through the blind index) with a booking still
inside its link window (:data:`afspraak.bookings.links.LINK_LIFETIME_AFTER_MEETING`
after its end), the outbox mails fresh links to each such booking, to that address only.
The page answers the same either way, so it tells nobody who booked.
"""

import logging
import smtplib
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone

from afspraak.accounts.html_email import attach_html_part
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.bookings.links import LINK_LIFETIME_AFTER_MEETING, invitee_url
from afspraak.bookings.models import Booking, Invitee, Status, find_invitee_by_email
from afspraak.bookings.notifications import NotificationError, format_when
from afspraak.tenancy.access import Access
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization
from afspraak.tenancy.roles import Permission

logger = logging.getLogger(__name__)

# More would be a list nobody reads; the latest meetings come first.
MAX_LINKS_PER_EMAIL = 20
FRESH_LINKS_TOPIC = "bookings.fresh_links_email"


def bookings_with_live_links(invitee: Invitee, now: datetime) -> QuerySet[Booking]:
    """Return the invitee's bookings whose links still work, latest meeting first."""
    return Booking.objects.filter(
        invitee=invitee, end__gt=now - LINK_LIFETIME_AFTER_MEETING
    ).order_by("-start")


def request_fresh_links(access: Access, email: str, *, now: datetime) -> None:
    """Have fresh links mailed to this address, after commit, if it booked within the window."""
    access.require(Permission.BOOK_MEETING)
    organization = access.organization
    with access.scope():
        invitee = find_invitee_by_email(organization, email)
        if invitee is None or not bookings_with_live_links(invitee, now).exists():
            return
        enqueue(
            FRESH_LINKS_TOPIC,
            {"organization": organization.public_id, "invitee": invitee.public_id},
        )


@handles(FRESH_LINKS_TOPIC)
def send_fresh_links_email(message: OutboxMessage) -> None:
    """Deliver one request for fresh links (nothing is sent when no booking is left in time)."""
    send_fresh_links(
        organization_public_id=message.payload["organization"],
        invitee_public_id=message.payload["invitee"],
    )


def _message(invitee: Invitee, bookings: list[Booking]) -> EmailMultiAlternatives:
    organization = bookings[0].organization
    entries = [
        {
            "meeting_type": booking.meeting_type.name,
            "when": format_when(booking.start, booking.end, booking.invitee_timezone),
            "status": Status(booking.status).label,
            "manage_url": f"{settings.SITE_URL}{invitee_url(booking)}",
        }
        for booking in bookings
    ]
    body = render_to_string(
        "bookings/email/fresh_links_invitee.txt",
        {"invitee_name": invitee.name, "organization": organization.name, "entries": entries},
    )
    title = f"Your booking links: {organization.name}"
    message = EmailMultiAlternatives(
        subject=" ".join(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{title}".split()),
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitee.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    # One link per booking: each is in the text, so the HTML part has no single button.
    attach_html_part(message, title=title, organization=organization)
    return message


def send_fresh_links(*, organization_public_id: str, invitee_public_id: str) -> bool:
    """Mail the invitee fresh links to their bookings within the window; False if there are none."""
    organization = Organization.objects.filter(public_id=organization_public_id).first()
    if organization is None:
        return False
    with organization_context(organization):
        invitee = Invitee.objects.filter(public_id=invitee_public_id).first()
        if invitee is None:
            return False
        bookings = list(
            bookings_with_live_links(invitee, timezone.now()).select_related(
                "organization", "meeting_type"
            )[:MAX_LINKS_PER_EMAIL]
        )
        if not bookings:
            return False
        message = _message(invitee, bookings)
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        # The SMTP error's text may quote the recipient's address: keep only its kind.
        raise NotificationError(f"sending failed: {type(error).__name__}") from None
    logger.info("fresh links sent to invitee %s", invitee_public_id)
    return True

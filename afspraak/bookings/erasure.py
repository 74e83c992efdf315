"""An invitee's erasure of their personal data, asked from their booking's link (D2).

It completes at once, in one transaction, for the booking the link names: an upcoming
meeting is cancelled (the host is told; the invitee gets the erasure confirmation
instead of a cancellation notice), then the name, phone, answers and message the
booking holds are scrubbed, irreversibly (the sealed row is rewritten; nothing keeps
the old ciphertext but backups, which expire within 7 days). The invitee's own row
(name, e-mail address, phone, notes) goes with their last booking that still holds
data: one link never erases another booking, since anyone can book with someone
else's address. Public ids, times and statuses stay for the host's records. The
confirmation e-mail needs the address the erasure may remove: it travels sealed under
the master key in the outbox message, which drops it once delivered.
"""

from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone

from afspraak.accounts.html_email import attach_html_part
from afspraak.audit.deletions import DeletedKind, note_deletion
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.bookings import notifications
from afspraak.bookings.models import Booking, CancelledBy, ErasureRequest, Invitee, Status
from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master
from afspraak.errors import ConflictError
from afspraak.tenancy.access import Access
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization
from afspraak.tenancy.roles import Permission

ERASED_NAME = "Erased at the invitee's request"
ERASURE_EMAIL_TOPIC = "bookings.erasure_email"
ALREADY_ERASED = "Your personal data with this organization has already been erased."


def _address_associated_data(request_public_id: str) -> bytes:
    return f"afspraak.bookings.erasure-email:{request_public_id}".encode()


def _cancel_for_erasure(access: Access, booking: Booking, now: datetime) -> None:
    booking.status, booking.cancelled_by = Status.CANCELLED, CancelledBy.INVITEE
    booking.sequence += 1
    booking.updated_at = now
    booking.save()
    record(
        "bookings.booking.cancelled",
        context=access.context,
        organization=access.organization,
        target=booking,
        data={"meeting_type": booking.meeting_type.public_id, "status": booking.status}
        | {"by": CancelledBy.INVITEE, "erasure": True},
    )
    notifications.drop_unsent_reminders(booking)
    # The host only: the invitee's address is gone by the time it would be sent.
    enqueue(
        notifications.BOOKING_EMAIL_TOPIC,
        {
            "organization": booking.organization.public_id,
            "booking": booking.public_id,
            "notice": "cancelled",
            "recipient": notifications.HOST,
            "previous_start": None,
        },
    )


def _is_erased(booking: Booking) -> bool:
    return booking.invitee_name == ERASED_NAME


def erase_invitee_data(
    access: Access, booking: Booking, *, now: datetime | None = None
) -> ErasureRequest:
    """Erase the personal data the link's booking holds (and the invitee's, once it is the last).

    A link proves only that its holder booked that one meeting: an invitee is found by
    e-mail address, so anyone can make a booking that shares someone else's invitee.
    The erasure therefore scrubs and cancels that booking alone; the invitee's own row
    (name, address, phone) is scrubbed when no other booking of theirs still holds data.
    """
    access.require_booking(booking.public_id)
    now = now or timezone.now()
    with access.scope():
        current = (
            Booking.objects.select_for_update()
            .select_related("meeting_type", "organization")
            .get(pk=booking.pk)
        )
        if _is_erased(current):
            raise ConflictError(ALREADY_ERASED)
        invitee = Invitee.objects.select_for_update().get(pk=current.invitee_id)
        cancelled = current.holds_time and current.end > now
        if cancelled:
            _cancel_for_erasure(access, current, now)
        current.invitee_name, current.invitee_phone = ERASED_NAME, ""
        current.answers, current.cancel_reason = {}, ""
        current.save()
        others_with_data = [
            other
            for other in Booking.objects.filter(invitee=invitee).exclude(pk=current.pk)
            if not _is_erased(other)
        ]
        address = invitee.email
        invitee_erased = not others_with_data
        if invitee_erased:
            invitee.name, invitee.email, invitee.phone, invitee.notes = ERASED_NAME, "", "", ""
            invitee.answers = {}
            invitee.save()
        request = ErasureRequest.objects.create(
            organization=access.organization,
            invitee_public_id=invitee.public_id,
            booking_public_id=current.public_id,
            requested_at=now,
            completed_at=now,
            erased_bookings=1,
            cancelled_bookings=int(cancelled),
        )
        record(
            "bookings.invitee.erased",
            context=access.context,
            organization=access.organization,
            target=request,
            data={
                "request": request.public_id,
                "invitee": invitee.public_id,
                "bookings": [current.public_id],
                "cancelled": [current.public_id] if cancelled else [],
                "invitee_erased": invitee_erased,
            },
        )
        note_deletion(
            DeletedKind.INVITEE if invitee_erased else DeletedKind.BOOKING_DATA,
            organization_public_id=access.organization.public_id,
            subject_ids=[invitee.public_id, current.public_id]
            if invitee_erased
            else [current.public_id],
            context=access.context,
            actor_public_id=invitee.public_id,
        )
        enqueue(
            ERASURE_EMAIL_TOPIC,
            {
                "organization": access.organization.public_id,
                "request": request.public_id,
                "sealed_address": encrypt_with_master(
                    address.encode(), _address_associated_data(request.public_id)
                ).hex(),
            },
        )
    return request


def erasure_requests_for(access: Access) -> list[ErasureRequest]:
    """Return the organization's erasure requests, newest first (admins and owners)."""
    access.require(Permission.VIEW_ALL_BOOKINGS)
    with access.scope():
        return list(ErasureRequest.objects.order_by("-requested_at", "-pk")[:200])


@handles(ERASURE_EMAIL_TOPIC)
def send_erasure_confirmation(message: OutboxMessage) -> None:
    """E-mail the invitee that their data is erased, to the address sealed in the message."""
    payload = message.payload
    if "sealed_address" not in payload:
        return
    organization = Organization.objects.filter(public_id=payload["organization"]).first()
    if organization is None:
        return
    with organization_context(organization):
        request = ErasureRequest.objects.filter(public_id=payload["request"]).first()
    if request is None:
        return
    address = decrypt_with_master(
        bytes.fromhex(payload["sealed_address"]), _address_associated_data(request.public_id)
    ).decode()
    title = f"Your personal data with {organization.name} has been erased"
    email = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + title,
        body=render_to_string(
            "bookings/email/erasure_confirmation.txt",
            {"organization": organization, "request": request},
        ),
        to=[address],
    )
    attach_html_part(email, title=title, organization=organization)
    email.send()

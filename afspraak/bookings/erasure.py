"""An invitee's erasure of their personal data, asked from their booking's link (D2).

It completes at once, in one transaction: the invitee's upcoming meetings with the
organization are cancelled (the host is told; the invitee gets the erasure
confirmation instead of a cancellation notice), then their name, e-mail address,
phone, notes and answers are scrubbed from the invitee and from every booking of
theirs, irreversibly (the sealed row is rewritten; nothing keeps the old ciphertext
but backups, which expire within 7 days). Public ids, times and statuses stay for the
host's records. The confirmation e-mail needs the address the erasure removes: it
travels sealed under the master key in the outbox message, which drops it once
delivered.
"""

from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

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


def erase_invitee_data(
    access: Access, booking: Booking, *, now: datetime | None = None
) -> ErasureRequest:
    """Erase the personal data of the invitee of ``booking``, cancelling their upcoming meetings."""
    access.require_booking(booking.public_id)
    now = now or timezone.now()
    with access.scope():
        invitee = Invitee.objects.select_for_update().get(pk=booking.invitee_id)
        if invitee.name == ERASED_NAME and not invitee.email:
            raise ConflictError(ALREADY_ERASED)
        theirs = list(
            Booking.objects.select_for_update()
            .select_related("meeting_type", "organization")
            .filter(invitee=invitee)
            .order_by("start")
        )
        upcoming = [b for b in theirs if b.holds_time and b.end > now]
        for held in upcoming:
            _cancel_for_erasure(access, held, now)
        address = invitee.email
        invitee.name, invitee.email, invitee.phone, invitee.notes = ERASED_NAME, "", "", ""
        invitee.answers = {}
        invitee.save()
        for scrubbed in theirs:
            scrubbed.invitee_name, scrubbed.invitee_phone = ERASED_NAME, ""
            scrubbed.answers, scrubbed.cancel_reason = {}, ""
            scrubbed.save()
        request = ErasureRequest.objects.create(
            organization=access.organization,
            invitee_public_id=invitee.public_id,
            booking_public_id=booking.public_id,
            requested_at=now,
            completed_at=now,
            erased_bookings=len(theirs),
            cancelled_bookings=len(upcoming),
        )
        booking_ids = [b.public_id for b in theirs]
        record(
            "bookings.invitee.erased",
            context=access.context,
            organization=access.organization,
            target=request,
            data={
                "request": request.public_id,
                "invitee": invitee.public_id,
                "bookings": booking_ids,
                "cancelled": [b.public_id for b in upcoming],
            },
        )
        note_deletion(
            DeletedKind.INVITEE,
            organization_public_id=access.organization.public_id,
            subject_ids=[invitee.public_id, *booking_ids],
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
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + f"Your personal data with {organization.name} has been erased",
        message=render_to_string(
            "bookings/email/erasure_confirmation.txt",
            {"organization": organization, "request": request},
        ),
        from_email=None,
        recipient_list=[address],
    )

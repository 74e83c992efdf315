"""E-mail about bookings: notices with calendar invitations, and reminders sent exactly once.

**Notices.** Each booking change sends one e-mail to the invitee and one to the host:
the change leaves one outbox message per e-mail in its own transaction
(:func:`enqueue_booking_emails`, ids and codes only), and :func:`send_booking_email`
delivers it after commit (``afspraak.audit.outbox``: retried when the mail server fails;
its Message-ID is derived from the outbox message, so a rare repeat after a crash is
recognisable as the same e-mail). The notice is chosen when the change happens (a
booking made pending says "waiting for approval"); a message that finds its booking
since cancelled sends nothing, as the cancellation notice follows. Times are shown in
each recipient's zone, named.

**Reminders.** A booking's ``Reminder`` rows are (re)armed inside the change's own
transaction (:func:`arrange_reminders`); the periodic job :func:`send_due_reminders`
sends the due ones. Each reminder is *claimed* by a conditional UPDATE (scheduled →
sending) committed before the SMTP conversation, so of two consumers only one wins,
and a consumer that restarts finds it claimed or sent, never sends it again. It is
marked sent after the SMTP server accepted it; the mark is fenced by the claim time,
so a reschedule that re-armed it in between is not overwritten.

The one window left is a crash (the process killed) after the server accepted the
message and before the mark: the claim then stays "sending", and after
:data:`CLAIM_TIMEOUT` another run takes it over and sends it again. We chose that
(at-least-once across a crash; exactly once otherwise) over at-most-once, because
a lost reminder is worse than a rare duplicate; a clean shutdown lets the running job
finish, so a restart never resends. The timeout is far above the SMTP timeouts
(``EMAIL_TIMEOUT``), so a slow but live sender is never overtaken.

Logs name bookings and reminders by public id only: no names, no addresses.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import dateformat, timezone

from afspraak.accounts.html_email import attach_html_part
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue_together, handles
from afspraak.bookings import ics
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking, Reminder, ReminderStatus, Status
from afspraak.tenancy.context import organization_context, system_context
from afspraak.tenancy.models import Organization

logger = logging.getLogger(__name__)

BOOKING_EMAIL_TOPIC = "bookings.booking_email"
INVITEE = "invitee"
HOST = "host"
RECIPIENTS = (INVITEE, HOST)
# A claim older than this belongs to a sender that died; another run may take it over.
CLAIM_TIMEOUT = timedelta(minutes=15)
# Sending a reminder is tried this often (one try a minute) before it is given up.
MAX_REMINDER_ATTEMPTS = 5
# Names the reminder in its e-mail, so logs and a recipient's mail admin can trace it.
REMINDER_HEADER = "X-Afspraak-Reminder"
# Reminders claimed per organization and run; the next run (a minute later) takes the rest.
REMINDER_BATCH = 200


class NotificationError(Exception):
    """Sending an e-mail failed; the message names the error's kind, never an address."""


@dataclass(frozen=True)
class Notice:
    """One kind of booking e-mail: its template and the invitation it carries, if any."""

    subject: str
    method: str | None
    # Sent only while the booking still holds its time (later changes make it stale).
    needs_held_time: bool


# Subjects are formatted with ``what`` (meeting type and the other person) and ``when``.
NOTICES: dict[tuple[str, str], Notice] = {
    ("confirmed", INVITEE): Notice("Confirmed: {what}, {when}", ics.REQUEST, True),
    ("confirmed", HOST): Notice("New booking: {what}, {when}", ics.REQUEST, True),
    ("pending", INVITEE): Notice("Waiting for approval: {what}, {when}", None, True),
    ("pending", HOST): Notice("Please approve: {what}, {when}", None, True),
    ("approved", INVITEE): Notice("Confirmed: {what}, {when}", ics.REQUEST, True),
    ("approved", HOST): Notice("Approved: {what}, {when}", ics.REQUEST, True),
    ("rescheduled", INVITEE): Notice("Moved: {what}, now {when}", ics.REQUEST, True),
    ("rescheduled", HOST): Notice("Moved: {what}, now {when}", ics.REQUEST, True),
    ("cancelled", INVITEE): Notice("Cancelled: {what}, {when}", ics.CANCEL, False),
    ("cancelled", HOST): Notice("Cancelled: {what}, {when}", ics.CANCEL, False),
    ("declined", INVITEE): Notice("Declined: {what}, {when}", ics.CANCEL, False),
    ("declined", HOST): Notice("Declined: {what}, {when}", ics.CANCEL, False),
    ("reminder", INVITEE): Notice("Reminder: {what}, {when}", None, True),
}


def notice_for_change(change: str, status: str) -> str:
    """Return the notice a booking change sends ("created" says confirmed or pending)."""
    if change == "created":
        return "pending" if status == Status.PENDING else "confirmed"
    return change


def format_when(start: datetime, end: datetime, zone_name: str) -> str:
    """Return the meeting's time in ``zone_name``, e.g. "Monday 9 March 2026, 10:00-10:30 (…)"."""
    zone = ZoneInfo(zone_name)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = dateformat.format(local_start, "l j F Y, H:i")
    return f"{day}-{dateformat.format(local_end, 'H:i')} ({zone_name})"


def host_zone(booking: Booking) -> str:
    """Return the host's time zone for this booking: its schedule's."""
    return booking.meeting_type.schedule.time_zone


def host_dashboard_url(booking: Booking) -> str:
    """Return the absolute address of the booking's page in the host's dashboard."""
    path = reverse(
        "dashboard:booking",
        kwargs={"org_slug": booking.organization.slug, "booking_id": booking.public_id},
    )
    return f"{settings.SITE_URL}{path}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def build_message(
    booking: Booking, notice: str, recipient: str, *, previous_start: datetime | None = None
) -> EmailMultiAlternatives:
    """Return the e-mail ``notice`` for ``recipient`` ("invitee" or "host") about ``booking``."""
    kind = NOTICES[(notice, recipient)]
    for_host = recipient == HOST
    zone = host_zone(booking) if for_host else booking.invitee_timezone
    other = booking.invitee_name if for_host else ics.host_name(booking)
    when = format_when(booking.start, booking.end, zone)
    manage_url = "" if for_host else f"{settings.SITE_URL}{invitee_url(booking)}"
    dashboard_url = host_dashboard_url(booking) if for_host else ""
    context = {
        "booking": booking,
        "notice": notice,
        "meeting_type": booking.meeting_type.name,
        "host_name": ics.host_name(booking),
        "invitee_name": booking.invitee_name,
        "invitee_email": booking.invitee.email,
        "invitee_phone": booking.invitee_phone,
        "answers": booking.labelled_answers() if for_host else [],
        "when": when,
        "previous_when": (
            format_when(previous_start, previous_start + (booking.end - booking.start), zone)
            if previous_start is not None
            else ""
        ),
        "location": booking.location,
        "reason": booking.cancel_reason,
        "manage_url": manage_url,
        "dashboard_url": dashboard_url,
    }
    subject = _one_line(
        # The prefix of the site's account e-mails, so all its mail looks alike.
        settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + kind.subject.format(what=f"{booking.meeting_type.name} with {other}", when=when)
    )
    body = render_to_string(f"bookings/email/{notice}_{recipient}.txt", context)
    host_email, invitee_email = booking.host.email, booking.invitee.email
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[host_email if for_host else invitee_email],
        # A reply reaches the other person, not the no-reply sender.
        reply_to=[invitee_email if for_host else host_email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    attach_html_part(
        message,
        title=kind.subject.format(what=f"{booking.meeting_type.name} with {other}", when=when),
        # Its branding: accent colour and logo (afspraak.tenancy.templatetags.branding).
        organization=booking.organization,
        action_url=dashboard_url if for_host else manage_url,
        action_label="Open in your dashboard" if for_host else "Open your booking",
    )
    if kind.method is not None:
        calendar = ics.invitation(booking, method=kind.method, for_host=for_host)
        message.attach_alternative(calendar.decode(), f"text/calendar; method={kind.method}")
        message.attach("invite.ics", calendar, "application/ics")
    return message


def _send(message: EmailMultiAlternatives) -> None:
    try:
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        # The SMTP error's text may quote the recipient's address: keep only its kind.
        raise NotificationError(f"sending failed: {type(error).__name__}") from None


def _load(booking_public_id: str) -> Booking | None:
    return (
        Booking.objects.select_related("organization", "meeting_type__schedule", "host", "invitee")
        .filter(public_id=booking_public_id)
        .first()
    )


def send_booking_notice(
    *,
    organization_public_id: str,
    booking_public_id: str,
    notice: str,
    recipient: str,
    previous_start: datetime | None = None,
    message_id: str | None = None,
) -> bool:
    """Send one booking e-mail; return False when there is nothing (any more) to send."""
    kind = NOTICES[(notice, recipient)]
    organization = Organization.objects.filter(public_id=organization_public_id).first()
    if organization is None:
        return False
    with organization_context(organization):
        booking = _load(booking_public_id)
        if booking is None or (kind.needs_held_time and not booking.holds_time):
            logger.info("booking notice %s to %s skipped: booking changed since", notice, recipient)
            return False
        message = build_message(booking, notice, recipient, previous_start=previous_start)
    if message_id is not None:
        message.extra_headers["Message-ID"] = message_id
    _send(message)
    logger.info("booking notice %s sent to %s of %s", notice, recipient, booking_public_id)
    return True


def enqueue_booking_emails(
    booking: Booking, change: str, *, previous_start: datetime | None = None
) -> None:
    """Leave the e-mails ``change`` of ``booking`` sends in the outbox (inside its transaction)."""
    notice = notice_for_change(change, booking.status)
    messages = [
        (
            BOOKING_EMAIL_TOPIC,
            {
                "organization": booking.organization.public_id,
                "booking": booking.public_id,
                "notice": notice,
                "recipient": recipient,
                "previous_start": (
                    previous_start.isoformat() if previous_start is not None else None
                ),
            },
        )
        for recipient in RECIPIENTS
        if (notice, recipient) in NOTICES
    ]
    if messages:
        # One INSERT for the host's and the invitee's e-mails: a round trip less per change.
        enqueue_together(messages)


def outbox_message_id(message: OutboxMessage) -> str:
    """Return the Message-ID of the e-mail an outbox message sends: the same on every attempt."""
    domain = urlsplit(settings.SITE_URL).hostname or "afspraak.invalid"
    return f"<booking-email-{message.pk}@{domain}>"


@handles(BOOKING_EMAIL_TOPIC)
def send_booking_email(message: OutboxMessage) -> None:
    """Send the booking e-mail an outbox message asks for (raise to have it retried)."""
    payload = message.payload
    previous_start = payload.get("previous_start")
    try:
        send_booking_notice(
            organization_public_id=payload["organization"],
            booking_public_id=payload["booking"],
            notice=payload["notice"],
            recipient=payload["recipient"],
            previous_start=datetime.fromisoformat(previous_start) if previous_start else None,
            message_id=outbox_message_id(message),
        )
    except NotificationError as error:
        logger.warning(
            "booking notice %s to %s of %s not sent (%s); will retry",
            payload["notice"],
            payload["recipient"],
            payload["booking"],
            error,
        )
        raise


# --- Reminders -----------------------------------------------------------------------------------


def arrange_reminders(booking: Booking, *, now: datetime) -> None:
    """Arm the booking's reminders for its current time; drop those due already or no longer asked.

    A reminder already sent for another time is armed again for the new time; one sent
    for this very time stays sent. Runs inside the booking change's transaction.
    """
    offsets = set(booking.meeting_type.reminder_offsets_minutes or [])
    existing = {r.offset_minutes: r for r in Reminder.objects.filter(booking=booking)}
    for offset, unwanted in existing.items():
        if offset not in offsets and unwanted.status != ReminderStatus.SENT:
            unwanted.delete()
    for offset in sorted(offsets):
        due_at = booking.start - timedelta(minutes=offset)
        reminder = existing.get(offset)
        if due_at <= now:
            if reminder is not None and reminder.status != ReminderStatus.SENT:
                reminder.delete()
            continue
        if reminder is None:
            Reminder.objects.create(
                organization=booking.organization,
                booking=booking,
                offset_minutes=offset,
                due_at=due_at,
            )
        elif reminder.due_at != due_at or reminder.status == ReminderStatus.FAILED:
            reminder.due_at, reminder.status = due_at, ReminderStatus.SCHEDULED
            reminder.claimed_at = reminder.sent_at = None
            reminder.attempts = 0
            reminder.save(update_fields=["due_at", "status", "claimed_at", "sent_at", "attempts"])


def drop_unsent_reminders(booking: Booking) -> int:
    """Delete the reminders of a booking that no longer takes place, except those sent."""
    deleted, _ = (
        Reminder.objects.filter(booking=booking).exclude(status=ReminderStatus.SENT).delete()
    )
    return deleted


def _claimable(now: datetime) -> Q:
    return Q(due_at__lte=now) & (
        Q(status=ReminderStatus.SCHEDULED)
        | Q(status=ReminderStatus.SENDING, claimed_at__lt=now - CLAIM_TIMEOUT)
    )


def claim_reminder(reminder_id: int, *, now: datetime) -> bool:
    """Take a due reminder for sending; only one of several concurrent callers gets True."""
    claimed = (
        Reminder.objects.filter(_claimable(now), pk=reminder_id)
        .filter(attempts__lt=MAX_REMINDER_ATTEMPTS)
        .update(status=ReminderStatus.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    return claimed == 1


def mark_reminder_sent(reminder_id: int, *, claimed_at: datetime) -> bool:
    """Record that the reminder went out, if our claim on it still stands."""
    return (
        Reminder.objects.filter(
            pk=reminder_id, status=ReminderStatus.SENDING, claimed_at=claimed_at
        ).update(status=ReminderStatus.SENT, sent_at=timezone.now())
        == 1
    )


def _release_reminder(reminder_id: int, *, claimed_at: datetime) -> None:
    """Give a failed send back for the next run, or give it up after the last attempt."""
    mine = Reminder.objects.filter(
        pk=reminder_id, status=ReminderStatus.SENDING, claimed_at=claimed_at
    )
    mine.filter(attempts__gte=MAX_REMINDER_ATTEMPTS).update(status=ReminderStatus.FAILED)
    mine.update(status=ReminderStatus.SCHEDULED, claimed_at=None)


def _prepare_reminder(reminder_id: int, now: datetime) -> EmailMultiAlternatives | None:
    """Claim the reminder and return its e-mail, or None when it is not ours or not to be sent."""
    if not claim_reminder(reminder_id, now=now):
        return None
    reminder = Reminder.objects.select_related(
        "booking__organization",
        "booking__meeting_type__schedule",
        "booking__host",
        "booking__invitee",
    ).get(pk=reminder_id)
    booking = reminder.booking
    if not booking.holds_time:
        reminder.delete()
        return None
    if booking.start <= now:
        # Too late to remind (the consumer was down): the meeting has begun.
        reminder.status = ReminderStatus.FAILED
        reminder.save(update_fields=["status"])
        logger.warning("reminder %s not sent: its meeting has begun", reminder.public_id)
        return None
    message = build_message(booking, "reminder", INVITEE)
    message.extra_headers[REMINDER_HEADER] = reminder.public_id
    return message


def send_reminder(organization: Organization, reminder_id: int, *, now: datetime) -> bool:
    """Claim one due reminder, send it and mark it sent; return whether this call sent it."""
    with organization_context(organization):
        message = _prepare_reminder(reminder_id, now)
    if message is None:
        return False
    label = message.extra_headers[REMINDER_HEADER]
    # The claim is committed: from here on no other run takes this reminder (until the
    # claim times out, should this process die before the mark below).
    try:
        _send(message)
    except NotificationError as error:
        with organization_context(organization):
            _release_reminder(reminder_id, claimed_at=now)
        logger.warning("reminder %s not sent (%s); will retry", label, error)
        return False
    with organization_context(organization):
        if not mark_reminder_sent(reminder_id, claimed_at=now):
            logger.info("reminder %s was re-armed or removed while it was being sent", label)
    logger.info("reminder %s sent", label)
    return True


def _organizations_to_visit(now: datetime) -> QuerySet[Organization]:
    """Return the organizations that may have reminders to send or to give up."""
    organizations = Organization.objects.order_by("pk")
    system_alias = settings.AFSPRAAK_SYSTEM_DATABASE
    if connections[system_alias].vendor == "postgresql" and system_alias == DEFAULT_DB_ALIAS:
        # Without a system role, row-level security hides every tenant's reminders from
        # a query across tenants: look into each organization instead.
        return organizations
    with system_context() as alias:
        having_due = (
            Reminder.objects.using(alias)
            .filter(_claimable(now))
            .values_list("organization_id", flat=True)
            .distinct()
        )
        return organizations.filter(pk__in=list(having_due))


def send_due_reminders(*, now: datetime | None = None) -> int:
    """Send every due reminder of every organization once; return how many this run sent.

    Each organization's reminders are claimed and read inside its own context. Which
    organizations to visit is asked once across tenants through the system connection
    (on SQLite, the default one); on PostgreSQL without a system role, every
    organization is visited, since row-level security answers such a question with nothing.
    """
    now = now or timezone.now()
    sent = 0
    for organization in _organizations_to_visit(now):
        with organization_context(organization):
            # A sender that died on the last attempt leaves its claim behind: give it up.
            Reminder.objects.filter(
                status=ReminderStatus.SENDING,
                claimed_at__lt=now - CLAIM_TIMEOUT,
                attempts__gte=MAX_REMINDER_ATTEMPTS,
            ).update(status=ReminderStatus.FAILED)
            due = list(
                Reminder.objects.filter(_claimable(now), attempts__lt=MAX_REMINDER_ATTEMPTS)
                .order_by("due_at")
                .values_list("pk", flat=True)[:REMINDER_BATCH]
            )
        for reminder_id in due:
            sent += send_reminder(organization, reminder_id, now=now)
    return sent

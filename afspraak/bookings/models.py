"""Invitees and their bookings. Their personal data is stored only encrypted (D1)."""

from datetime import datetime, timedelta
from functools import partial
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from afspraak.crypto.fields import (
    BlindIndexField,
    EncryptedEmailField,
    EncryptedJSONField,
    EncryptedModel,
    EncryptedTextField,
    blind_index_of,
)
from afspraak.publicid import new_public_id
from afspraak.scheduling.models import MeetingType
from afspraak.tenancy.models import Organization


class Invitee(EncryptedModel):
    """Someone who booked with an organization: name, e-mail, phone, notes and answers."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitees"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "inv")
    )
    name = EncryptedTextField(max_length=200)
    email = EncryptedEmailField()
    email_index = BlindIndexField(source="email", normalizer="email")
    phone = EncryptedTextField(max_length=40, blank=True)
    notes = EncryptedTextField(max_length=5000, blank=True)
    answers = EncryptedJSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["Invitee"]] = ScopedManager(organization="organization")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "email_index"], name="bookings_invitee_one_per_email"
            )
        ]


def find_invitee_by_email(organization: Organization, email: str) -> Invitee | None:
    """Return the organization's invitee with this e-mail address (any case, trimmed), if any."""
    token = blind_index_of(Invitee, "email_index").index_for(organization.pk, email)
    if token is None:
        return None
    return Invitee.objects.filter(organization=organization, email_index=token).first()


class Status(models.TextChoices):
    PENDING = "pending", "Waiting for approval"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    DECLINED = "declined", "Declined"


# The statuses that hold their time: only these may not overlap (the exclusion
# constraint on PostgreSQL, the locked check on SQLite).
HOLDING_STATUSES = (Status.PENDING, Status.CONFIRMED)


class CancelledBy(models.TextChoices):
    INVITEE = "invitee", "Invitee"
    HOST = "host", "Host"


class Booking(EncryptedModel):
    """One meeting of an invitee with a host, with what the invitee told us (encrypted)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="bookings"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "bkg")
    )
    meeting_type = models.ForeignKey(MeetingType, on_delete=models.PROTECT, related_name="bookings")
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="hosted_bookings"
    )
    invitee = models.ForeignKey(Invitee, on_delete=models.PROTECT, related_name="bookings")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CONFIRMED)
    start = models.DateTimeField()
    end = models.DateTimeField()
    # The time the booking holds, its meeting type's buffers included, as they were when
    # it was booked: what the overlap guard compares.
    blocked_start = models.DateTimeField()
    blocked_end = models.DateTimeField()
    invitee_timezone = models.CharField(max_length=64)
    invitee_name = EncryptedTextField(max_length=200)
    invitee_phone = EncryptedTextField(max_length=40, blank=True)
    answers = EncryptedJSONField(default=dict, blank=True)
    location = EncryptedTextField(max_length=400, blank=True)
    cancel_reason = EncryptedTextField(max_length=1000, blank=True)
    cancelled_by = models.CharField(max_length=16, choices=CancelledBy.choices, blank=True)
    # The iCalendar SEQUENCE: raised on every change the invitation must reflect.
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["Booking"]] = ScopedManager(organization="organization")

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["host", "blocked_start"], name="bookings_host_blocked_start"),
            models.Index(fields=["organization", "start"], name="bookings_org_start"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="bookings_end_after_start"
            ),
            models.CheckConstraint(
                condition=models.Q(blocked_start__lte=models.F("start"))
                & models.Q(blocked_end__gte=models.F("end")),
                name="bookings_blocked_covers_meeting",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def holds_time(self) -> bool:
        """Tell whether the booking keeps its time from others (pending or confirmed)."""
        return self.status in HOLDING_STATUSES

    @property
    def uid(self) -> str:
        """Return the iCalendar UID: stable for the booking's whole life."""
        return f"{self.public_id}@afspraak"

    def labelled_answers(self) -> list[tuple[str, str]]:
        """Return the invitee's answers as text, each under its question's label."""
        labels = {q["key"]: q["label"] for q in self.meeting_type.questions}
        lines = []
        for key, value in self.answers.items():
            if isinstance(value, bool):
                shown = "Yes" if value else "No"
            elif isinstance(value, list):
                shown = ", ".join(str(item) for item in value)
            else:
                shown = str(value)
            lines.append((labels.get(key, key), shown))
        return lines

    def has_passed(self, now: datetime) -> bool:
        """Tell whether the meeting has ended."""
        return self.end <= now

    def invitee_may_change(self, now: datetime) -> bool:
        """Tell whether the invitee may still cancel or reschedule (before the cut-off)."""
        cutoff = timedelta(minutes=self.meeting_type.change_cutoff_minutes)
        return self.holds_time and now < self.start - cutoff


class ReminderStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Reminder(models.Model):
    """One reminder e-mail of a booking, due at a fixed offset before the meeting."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="reminders"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "rem")
    )
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reminders")
    offset_minutes = models.PositiveIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.SCHEDULED
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    objects: ClassVar[models.Manager["Reminder"]] = ScopedManager(organization="organization")

    class Meta:
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["status", "due_at"], name="bookings_reminder_due"),
        ]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "booking", "offset_minutes"],
                name="bookings_one_reminder_per_offset",
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class ErasureRequest(models.Model):
    """An invitee's request, from their booking's link, to erase their personal data.

    It completes at once (``afspraak.bookings.erasure``); the row keeps public ids and
    times only, for the organization's admins to see.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="erasure_requests"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "era")
    )
    invitee_public_id = models.CharField(max_length=32)
    booking_public_id = models.CharField(max_length=32)
    requested_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    erased_bookings = models.PositiveIntegerField(default=0)
    cancelled_bookings = models.PositiveIntegerField(default=0)

    objects: ClassVar[models.Manager["ErasureRequest"]] = ScopedManager(organization="organization")

    def __str__(self) -> str:
        return self.public_id

"""Training reminders (control P2): 30 and 7 days before a staff member's training expires.

A daily job finds each staff member's latest training that expires within a reminder's
window, claims that reminder with a conditional UPDATE (so two runs queue it once) and
hands the e-mail to the outbox in the same transaction.
"""

from datetime import date
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.compliance.models import TrainingCompletion
from afspraak.compliance.standing import latest_training

REMINDER_TOPIC = "compliance.training_reminder"
# Days before expiry, and the field that says the reminder was queued.
REMINDERS = {30: "reminded_30_days_at", 7: "reminded_7_days_at"}


def _staff() -> Any:
    return User.objects.filter(is_active=True).exclude(is_staff=False, is_superuser=False)


def queue_training_reminders(today: date | None = None) -> int:
    """Queue each due training reminder once; return how many were queued."""
    today = today or timezone.now().date()
    queued = 0
    for user in _staff():
        training = latest_training(user)
        if training is None or training.expires_on <= today:
            continue
        days_left = (training.expires_on - today).days
        # The nearest window only: a reminder missed while the job was down is not sent late
        # next to the one that replaced it.
        due = min((days for days in REMINDERS if days_left <= days), default=None)
        if due is not None and _claim(AuditContext.system(), training, due):
            queued += 1
    return queued


def _claim(context: AuditContext, training: TrainingCompletion, days: int) -> bool:
    field = REMINDERS[days]
    with transaction.atomic():
        claimed = TrainingCompletion.objects.filter(pk=training.pk, **{field: None}).update(
            **{field: timezone.now()}
        )
        if not claimed:
            return False
        enqueue(REMINDER_TOPIC, {"training": training.pk, "days": days})
        record(
            "compliance.training.reminder_queued",
            context=context,
            target=training,
            data={"staff": training.user.public_id, "days": days},
        )
    return True


@handles(REMINDER_TOPIC)
def send_training_reminder(message: OutboxMessage) -> None:
    """E-mail a staff member that their training expires soon (skipped once it was renewed)."""
    training = (
        TrainingCompletion.objects.select_related("user")
        .filter(pk=message.payload["training"])
        .first()
    )
    if training is None or latest_training(training.user) != training:
        return
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + "Your security and privacy training expires soon",
        message=render_to_string(
            "compliance/email/training_reminder.txt",
            {"user": training.user, "expires_on": training.expires_on},
        ),
        from_email=None,
        recipient_list=[training.user.email],
    )


@db_periodic_task(crontab(hour="6", minute="0"))
def daily_training_reminders() -> int:
    """Queue the training reminders that are due (see queue_training_reminders)."""
    return queue_training_reminders()

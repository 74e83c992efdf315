"""Training reminders leave once, through the outbox, 30 and 7 days before expiry (P2)."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.compliance.records import record_training
from afspraak.compliance.reminders import REMINDER_TOPIC, queue_training_reminders
from afspraak.compliance.tests.staffing import staff_member
from afspraak.testing.audit import assert_audited


def test_reminders_leave_once_at_30_and_7_days(db, clock, django_capture_on_commit_callbacks):
    today = timezone.now().date()
    # Expires in 40 days.
    staff = staff_member(trained_on=today - timedelta(days=325))
    assert queue_training_reminders() == 0

    clock.shift(timedelta(days=10))
    with django_capture_on_commit_callbacks(execute=True):
        assert queue_training_reminders() == 1
        assert queue_training_reminders() == 0
    assert OutboxMessage.objects.filter(topic=REMINDER_TOPIC).count() == 1
    assert [m.to for m in mail.outbox] == [[staff.email]]
    assert "expires on" in mail.outbox[0].body
    assert_audited("compliance.training.reminder_queued", data={"days": 30})

    clock.shift(timedelta(days=23))
    with django_capture_on_commit_callbacks(execute=True):
        assert queue_training_reminders() == 1
        assert queue_training_reminders() == 0
    assert len(mail.outbox) == 2
    assert deliver_due() == 0


def test_a_renewed_training_stops_the_queued_reminder(db, clock):
    today = timezone.now().date()
    staff = staff_member(trained_on=today - timedelta(days=340))
    assert queue_training_reminders() == 1

    record_training(AuditContext.system(), staff, completed_on=today)
    deliver_due()

    assert mail.outbox == []
    assert_audited("compliance.training.recorded", data={"kind": "annual"})

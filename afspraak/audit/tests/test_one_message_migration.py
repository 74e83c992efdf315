"""Migration audit/0007: messages waiting at the upgrade are brought to one message per event."""

import importlib

import pytest
from django.apps import apps

from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.audit.trail import record

pytestmark = pytest.mark.django_db

migration = importlib.import_module("afspraak.audit.migrations.0007_one_message_per_audit_event")


def three_old_messages(event_id: int, organization: str | None) -> None:
    """Write the chain, SIEM and detection messages ``record`` left before 0007."""
    for topic, payload in (
        ("audit.chain", {"event": event_id}),
        ("audit.siem", {"event": event_id, "organization": organization}),
        ("audit.detection", {"event": event_id}),
    ):
        OutboxMessage.objects.create(topic=topic, payload=payload)


def test_waiting_messages_are_handed_to_the_sequencer_or_rewritten_as_chunks():
    linked = record("accounts.logout")
    deliver_due()  # linked, and its SIEM and detection messages delivered
    OutboxMessage.objects.all().delete()
    unlinked = record("accounts.logout")
    OutboxMessage.objects.all().delete()
    three_old_messages(unlinked.pk, "org_waiting")
    # The linked event's SIEM line and detection were still waiting at the upgrade.
    OutboxMessage.objects.create(topic="audit.siem", payload={"event": linked.pk})
    OutboxMessage.objects.create(topic="audit.detection", payload={"event": linked.pk})

    migration.hand_waiting_messages_to_the_sequencer(apps, None)

    assert sorted(OutboxMessage.objects.values_list("topic", "payload")) == [
        ("audit.chain", {"event": unlinked.pk, "organization": "org_waiting"}),
        ("audit.detection", {"events": [linked.pk]}),
        ("audit.siem", {"events": [[linked.pk, None]]}),
    ]
    deliver_due()
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
    assert sorted(
        event
        for m in OutboxMessage.objects.filter(topic="audit.siem")
        for event, _ in m.payload["events"]
    ) == [linked.pk, unlinked.pk]

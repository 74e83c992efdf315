"""Audit events leave one outbox message each; the chain's sequencer hands them on.

Before, ``record`` wrote three messages per event (chain, SIEM line, detection), each
naming one event. Now it writes the chain's message, which carries the organization's
public id, and the sequencer enqueues the SIEM and detection messages, a chunk of events
each, when it links them. Messages still waiting at the upgrade are brought to that
shape: an event the sequencer has yet to link keeps only its chain message (given the
organization from its SIEM message: the sequencer hands it on); a linked one keeps its
waiting SIEM or detection message, rewritten as a chunk of one.
"""

from django.db import migrations


def hand_waiting_messages_to_the_sequencer(apps, schema_editor):
    OutboxMessage = apps.get_model("audit", "OutboxMessage")
    waiting = OutboxMessage.objects.filter(delivered_at__isnull=True)
    unlinked = {
        message.payload["event"]: message for message in waiting.filter(topic="audit.chain")
    }
    for message in waiting.filter(topic="audit.siem", payload__has_key="event"):
        event, organization = message.payload["event"], message.payload.get("organization")
        if event in unlinked:
            unlinked[event].payload["organization"] = organization
            unlinked[event].save(update_fields=["payload"])
            message.delete()
        else:
            message.payload = {"events": [[event, organization]]}
            message.save(update_fields=["payload"])
    for message in waiting.filter(topic="audit.detection", payload__has_key="event"):
        event = message.payload["event"]
        if event in unlinked:
            message.delete()
        else:
            message.payload = {"events": [event]}
            message.save(update_fields=["payload"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0006_alerts_and_incidents")]

    operations = [
        migrations.RunPython(
            hand_waiting_messages_to_the_sequencer, migrations.RunPython.noop, elidable=True
        )
    ]

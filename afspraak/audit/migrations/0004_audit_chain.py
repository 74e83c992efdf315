"""The tamper-evident chain: its links (append-only, like the events) and its head.

The events written before this migration are handed to the chain's sequencer through
the outbox, oldest first, so the whole trail is chained once the dispatcher has run.
SQLite adds the pseudonym column by rebuilding the events table, which drops its
triggers: they are dropped first and made again afterwards.
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

triggers = importlib.import_module("afspraak.audit.migrations.0002_append_only_triggers")

LINK_POSTGRES_FORWARD = """
CREATE TRIGGER audit_chain_link_append_only
    BEFORE UPDATE OR DELETE ON audit_auditchainlink
    FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change();
CREATE TRIGGER audit_chain_link_no_truncate
    BEFORE TRUNCATE ON audit_auditchainlink
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change();
"""
LINK_POSTGRES_BACKWARD = """
DROP TRIGGER audit_chain_link_no_truncate ON audit_auditchainlink;
DROP TRIGGER audit_chain_link_append_only ON audit_auditchainlink;
"""
LINK_SQLITE_FORWARD = [
    """CREATE TRIGGER audit_chain_link_no_update BEFORE UPDATE ON audit_auditchainlink
       BEGIN SELECT RAISE(ABORT, 'audit chain links are append-only (UPDATE refused)'); END""",
    """CREATE TRIGGER audit_chain_link_no_delete BEFORE DELETE ON audit_auditchainlink
       BEGIN SELECT RAISE(ABORT, 'audit chain links are append-only (DELETE refused)'); END""",
]
LINK_SQLITE_BACKWARD = [
    "DROP TRIGGER audit_chain_link_no_update",
    "DROP TRIGGER audit_chain_link_no_delete",
]


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.remove_triggers(apps, schema_editor)


def make_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.add_triggers(apps, schema_editor)


def add_link_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LINK_POSTGRES_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in LINK_SQLITE_FORWARD:
            schema_editor.execute(statement)


def remove_link_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(LINK_POSTGRES_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in LINK_SQLITE_BACKWARD:
            schema_editor.execute(statement)


def chain_existing_events(apps, schema_editor):
    event_ids = apps.get_model("audit", "AuditEvent").objects.order_by("pk")
    apps.get_model("audit", "OutboxMessage").objects.bulk_create(
        [
            apps.get_model("audit", "OutboxMessage")(topic="audit.chain", payload={"event": pk})
            for pk in event_ids.values_list("pk", flat=True)
        ]
    )


def forget_chain_messages(apps, schema_editor):
    apps.get_model("audit", "OutboxMessage").objects.filter(topic="audit.chain").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_outbox_and_request_id"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, make_sqlite_triggers),
        migrations.CreateModel(
            name="AuditChainHead",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField(default=0)),
                ("mac", models.CharField(default="", max_length=64)),
                ("exported_sequence", models.BigIntegerField(default=0)),
                ("exported_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name="auditevent",
            name="source_pseudonym",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.CreateModel(
            name="AuditChainLink",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sequence", models.BigIntegerField(unique=True)),
                ("previous_mac", models.CharField(max_length=64)),
                ("mac", models.CharField(max_length=64)),
                ("linked_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "event",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="link",
                        to="audit.auditevent",
                    ),
                ),
            ],
        ),
        migrations.RunPython(make_sqlite_triggers, drop_sqlite_triggers),
        migrations.RunPython(add_link_triggers, remove_link_triggers),
        migrations.RunPython(chain_existing_events, forget_chain_messages),
    ]

"""The outbox table and each audit event's request id.

SQLite adds a column by rebuilding the table, which drops its triggers: they are
dropped first and made again afterwards (on PostgreSQL the column is added in place).
"""

import importlib

import django.utils.timezone
from django.db import migrations, models

triggers = importlib.import_module("afspraak.audit.migrations.0002_append_only_triggers")


def drop_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.remove_triggers(apps, schema_editor)


def make_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        triggers.add_triggers(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_triggers, make_sqlite_triggers),
        migrations.AddField(
            model_name="auditevent",
            name="request_id",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.CreateModel(
            name="OutboxMessage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("topic", models.CharField(max_length=60)),
                ("payload", models.JSONField(default=dict)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("available_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("delivered_at", models.DateTimeField(blank=True, null=True)),
                ("failed_at", models.DateTimeField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, max_length=300)),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(
                            ("delivered_at__isnull", True), ("failed_at__isnull", True)
                        ),
                        fields=["available_at"],
                        name="outbox_pending",
                    )
                ],
            },
        ),
        migrations.RunPython(make_sqlite_triggers, drop_sqlite_triggers),
    ]

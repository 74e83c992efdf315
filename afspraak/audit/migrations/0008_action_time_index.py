"""An (action, occurred_at) index on audit events, built without stopping the appends.

On PostgreSQL it is built CONCURRENTLY (outside a transaction, hence ``atomic = False``):
a plain CREATE INDEX would hold back every audit append, and so every audited request,
for as long as it reads a large table. 0009 then drops the indexes this one replaces.
"""

from django.db import migrations, models

INDEX = models.Index(fields=["action", "-occurred_at"], name="audit_event_action_time")


def build(apps, schema_editor):
    model = apps.get_model("audit", "AuditEvent")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(model, INDEX, concurrently=True)
    else:
        schema_editor.add_index(model, INDEX)


def drop(apps, schema_editor):
    model = apps.get_model("audit", "AuditEvent")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(model, INDEX, concurrently=True)
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("audit", "0007_one_message_per_audit_event")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="auditevent", index=INDEX)],
            database_operations=[migrations.RunPython(build, drop)],
        )
    ]

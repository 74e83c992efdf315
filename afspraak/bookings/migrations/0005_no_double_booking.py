"""Row-level security on bookings and reminders, and the guard against double bookings.

On PostgreSQL an exclusion constraint refuses two pending or confirmed bookings of one
host whose blocked times (buffers included) overlap, whatever the application does;
btree_gist lets the host's id take part in the GiST index. SQLite has no such
constraint: there ``book_meeting`` checks inside a write-locking transaction.
"""

from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor

from afspraak.tenancy.rls import tenant_rls_operation

CONSTRAINT = "bookings_no_double_booking"


def add_exclusion_constraint(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    schema_editor.execute(
        f"ALTER TABLE bookings_booking ADD CONSTRAINT {CONSTRAINT} EXCLUDE USING gist "
        "(host_id WITH =, tstzrange(blocked_start, blocked_end, '[)') WITH &&) "
        "WHERE (status IN ('pending', 'confirmed'))"
    )


def drop_exclusion_constraint(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"ALTER TABLE bookings_booking DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_booking_reminder_relations"),
    ]

    operations = [
        tenant_rls_operation("bookings_booking"),
        tenant_rls_operation("bookings_reminder"),
        migrations.RunPython(add_exclusion_constraint, drop_exclusion_constraint),
    ]

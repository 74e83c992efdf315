"""Four indexes on audit events instead of eight: each is a cost on every append.

The actor's and the organization's own indexes are led by the (actor, occurred_at) and
(organization, occurred_at) ones. The action's and the time's go, now that 0008 built
(action, occurred_at): every query of a time names actions, an organization or an actor
(the latest backup, the detection rules' windows), and no query looks actions up by
prefix alone, so the pattern index Django adds to an indexed text column goes too.
SQLite changes the columns by rebuilding the table, which drops its append-only
triggers: they are dropped first and made again afterwards, as in 0004.
"""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

chain = importlib.import_module("afspraak.audit.migrations.0004_audit_chain")


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0008_action_time_index"),
        # As 0001: the organization table is all the reference needs. With the latest
        # tenancy migration here, migrating tenancy back unapplied this one too, and in the
        # order that made, bookings' sealed-rows reversal read an organization column
        # already gone (test_invitation_encryption's migration test).
        ("tenancy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(chain.drop_sqlite_triggers, chain.make_sqlite_triggers),
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(max_length=100),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="occurred_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="tenancy.organization",
            ),
        ),
        migrations.RunPython(chain.make_sqlite_triggers, chain.drop_sqlite_triggers),
    ]

"""Row-level security on schedules, date overrides and meeting types (PostgreSQL only, D3)."""

from django.db import migrations

from afspraak.tenancy.rls import tenant_rls_operation


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [
        tenant_rls_operation("scheduling_schedule"),
        tenant_rls_operation("scheduling_dateoverride"),
        tenant_rls_operation("scheduling_meetingtype"),
    ]

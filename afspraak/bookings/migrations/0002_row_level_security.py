"""Row-level security on the invitees (PostgreSQL only, control D3)."""

from django.db import migrations

from afspraak.tenancy.rls import tenant_rls_operation


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [tenant_rls_operation("bookings_invitee")]

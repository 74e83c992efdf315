"""Row-level security on the organization keysets and rotations (PostgreSQL only, control D3)."""

from django.db import migrations

from afspraak.tenancy.rls import tenant_rls_operation


class Migration(migrations.Migration):
    dependencies = [
        ("crypto", "0001_initial"),
        ("tenancy", "0003_row_level_security"),
    ]

    operations = [
        tenant_rls_operation("crypto_organizationkeyset"),
        tenant_rls_operation("crypto_keyrotation"),
    ]

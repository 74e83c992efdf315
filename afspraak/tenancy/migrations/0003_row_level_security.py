"""Row-level security on the tenant tables (PostgreSQL only; see afspraak/tenancy/rls.py)."""

from django.db import migrations

from afspraak.tenancy.rls import (
    disable_own_rows_read,
    disable_tenant_rls,
    enable_own_rows_read,
    enable_tenant_rls,
)

TENANT_TABLES = ("tenancy_membership", "tenancy_invitation")


def forward(apps, schema_editor):
    for table in TENANT_TABLES:
        enable_tenant_rls(schema_editor, table)
    # The home page and the MFA rule list a user's own memberships across organizations.
    enable_own_rows_read(schema_editor, "tenancy_membership")


def backward(apps, schema_editor):
    disable_own_rows_read(schema_editor, "tenancy_membership")
    for table in TENANT_TABLES:
        disable_tenant_rls(schema_editor, table)


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_invitations_and_session_lifetime")]

    operations = [migrations.RunPython(forward, backward)]

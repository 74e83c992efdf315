"""PostgreSQL row-level security for tenant tables (control D3), and the checks that keep it on.

Every table whose rows belong to one organization gets a FORCEd policy that shows
and accepts only the rows of the organization named by the transaction-local
setting ``afspraak.organization_id`` (set by ``organization_context``). An unset
or empty setting matches no row: a query that forgot its tenant sees nothing and
can write nothing. Other apps' migrations call :func:`enable_tenant_rls` (or use
:func:`tenant_rls_operation`) for their tenant tables.

On SQLite these functions do nothing; the django-scopes managers remain the guard.
"""

import re
from typing import Any

from django.apps import apps as global_apps
from django.db import migrations, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django_scopes.manager import DisabledQuerySet

ORGANIZATION_SETTING = "afspraak.organization_id"
USER_SETTING = "afspraak.user_id"
TENANT_POLICY = "tenant_isolation"
SELF_READ_POLICY = "own_rows_read"

# Tables that reference an organization but are deliberately left without the tenant
# policy, each with its reason. A new entry needs a reviewer's agreement.
RLS_EXEMPT_TABLES: dict[str, str] = {
    "audit_auditevent": (
        "the append-only audit trail also holds events that belong to no organization "
        "(logins, MFA); it holds ids and codes only, no customer data, and the "
        "organization's audit-log page filters on the organization explicitly"
    ),
    "compliance_supportgrant": (
        "the operator's record of its staff's access to an organization, not the "
        "organization's data: staff list their own grants across organizations and a second "
        "staff member sees every request waiting for them; it holds ids, the staff member's "
        "stated reason and times; the owners' page filters on the organization explicitly"
    ),
    "compliance_supportpolicy": (
        "one row per organization naming who approves staff support access, read by the "
        "operator's staff across organizations; it holds a choice, no customer data"
    ),
    "compliance_reviewitem": (
        "the operator's access-review campaign: the items of every organization are opened, "
        "counted and sealed into one report across organizations; it holds ids, roles and "
        "decisions; the owners' page filters on the organization explicitly"
    ),
    "compliance_subprocessorsubscription": (
        "the operator's mailing list for subprocessor notices, read across organizations "
        "when a notice goes out; it holds ids only"
    ),
    "tenancy_apitoken": (
        "a Bearer token is found by the keyed hash of its secret before its organization is "
        "known (the API authenticates before it reads the URL's organization); it holds ids, "
        "the hash, a name, a scope and times, no customer data; every other read goes through "
        "its scoped manager inside the organization's context (tenancy/api_tokens.py)"
    ),
    "security_membersuspension": (
        "the operator's containment record from an incident: the suspension gate reads it "
        "for the acting member as the access decision is made, before any organization's "
        "context is open; it holds ids and times only"
    ),
}

_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def setting_expression(setting: str) -> str:
    """Return SQL for the setting's value as a bigint, NULL (matching nothing) when unset."""
    return f"NULLIF(current_setting('{setting}', true), '')::bigint"


def enable_tenant_rls(
    schema_editor: BaseDatabaseSchemaEditor, table: str, *, column: str = "organization_id"
) -> None:
    """Enable and force row-level security on ``table``, keyed on the organization setting."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quoted, current = schema_editor.quote_name(table), setting_expression(ORGANIZATION_SETTING)
    condition = f"{schema_editor.quote_name(column)} = {current}"
    for statement in (
        f"ALTER TABLE {quoted} ENABLE ROW LEVEL SECURITY",
        # FORCE: the policy binds the table's owner too, unless it has BYPASSRLS.
        f"ALTER TABLE {quoted} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {quoted}",
        f"CREATE POLICY {TENANT_POLICY} ON {quoted} USING ({condition}) WITH CHECK ({condition})",
    ):
        schema_editor.execute(statement)


def disable_tenant_rls(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Undo :func:`enable_tenant_rls` (for a migration's way back)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quoted = schema_editor.quote_name(table)
    for statement in (
        f"DROP POLICY IF EXISTS {TENANT_POLICY} ON {quoted}",
        f"ALTER TABLE {quoted} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {quoted} DISABLE ROW LEVEL SECURITY",
    ):
        schema_editor.execute(statement)


def enable_own_rows_read(
    schema_editor: BaseDatabaseSchemaEditor, table: str, *, column: str = "user_id"
) -> None:
    """Also let a user read (never write) their own rows of ``table`` in any organization."""
    if schema_editor.connection.vendor != "postgresql":
        return
    quoted = schema_editor.quote_name(table)
    condition = f"{schema_editor.quote_name(column)} = {setting_expression(USER_SETTING)}"
    schema_editor.execute(f"DROP POLICY IF EXISTS {SELF_READ_POLICY} ON {quoted}")
    schema_editor.execute(
        f"CREATE POLICY {SELF_READ_POLICY} ON {quoted} FOR SELECT USING ({condition})"
    )


def disable_own_rows_read(schema_editor: BaseDatabaseSchemaEditor, table: str) -> None:
    """Undo :func:`enable_own_rows_read`."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"DROP POLICY IF EXISTS {SELF_READ_POLICY} ON {schema_editor.quote_name(table)}"
    )


def tenant_rls_operation(table: str, *, column: str = "organization_id") -> migrations.RunPython:
    """Return a migration operation that puts ``table`` under the tenant policy (reversible)."""

    def forward(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        enable_tenant_rls(schema_editor, table, column=column)

    def backward(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        disable_tenant_rls(schema_editor, table)

    return migrations.RunPython(forward, backward)


def app_role_grants_sql(app_role: str, *, schema: str = "public") -> list[str]:
    """Return the statements that give the application's role its table privileges.

    The database owner runs them once (``docs/runbooks/postgresql-roles.md``); the
    default privileges then cover every table later migrations create.
    """
    for name, value in (("role", app_role), ("schema", schema)):
        if not _ROLE_NAME.match(value):
            raise ValueError(f"{name} name {value!r} is not a plain SQL identifier")
    role, space = f'"{app_role}"', f'"{schema}"'
    return [
        f"GRANT USAGE ON SCHEMA {space} TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {space} TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {space} TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {space} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {space} GRANT USAGE, SELECT ON SEQUENCES TO {role}",
    ]


def tenant_models() -> list[type[models.Model]]:
    """Return every concrete model with a foreign key to an organization."""
    organization = global_apps.get_model("tenancy", "Organization")
    return [
        model
        for model in global_apps.get_models()
        if not model._meta.proxy
        and model._meta.managed
        and any(
            isinstance(field, models.ForeignKey) and field.related_model is organization
            for field in model._meta.concrete_fields
        )
    ]


def _organization_field(model: type[models.Model]) -> str:
    organization = global_apps.get_model("tenancy", "Organization")
    return next(
        field.name
        for field in model._meta.concrete_fields
        if isinstance(field, models.ForeignKey) and field.related_model is organization
    )


def tables_missing_rls(connection: BaseDatabaseWrapper) -> list[str]:
    """Return the tenant tables that lack enabled, forced RLS with the tenant policy."""
    if connection.vendor != "postgresql":
        raise ValueError("row-level security exists on PostgreSQL only")
    expected = {
        model._meta.db_table
        for model in tenant_models()
        if model._meta.db_table not in RLS_EXEMPT_TABLES
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            JOIN pg_policies p ON p.schemaname = n.nspname AND p.tablename = c.relname
            WHERE c.relrowsecurity AND c.relforcerowsecurity AND p.policyname = %s
              AND p.cmd = 'ALL' AND p.permissive = 'PERMISSIVE'
              AND p.qual LIKE %s AND p.with_check LIKE %s
            """,
            [TENANT_POLICY, f"%{ORGANIZATION_SETTING}%", f"%{ORGANIZATION_SETTING}%"],
        )
        protected = {row[0] for row in cursor.fetchall()}
    return sorted(expected - protected)


def unscoped_tenant_models() -> list[str]:
    """Return the tenant models whose default manager does not refuse unscoped queries.

    A model reached only by organization id through one module (not by tenant queries)
    may say so, and why, in a class attribute ``tenant_scope_exempt_reason``.
    """
    missing = []
    for model in tenant_models():
        exempt_reason: str = getattr(model, "tenant_scope_exempt_reason", "")
        if model._meta.db_table in RLS_EXEMPT_TABLES or exempt_reason:
            continue
        # A scoped manager with an empty scope must hand out a query set that refuses work.
        with_scope = getattr(model._default_manager, "with_scope", None)
        unscoped = with_scope().get_queryset() if with_scope is not None else None
        if not isinstance(unscoped, DisabledQuerySet):
            missing.append(model._meta.label)
    return missing


def unique_rules_without_organization() -> list[str]:
    """Return uniqueness rules of tenant tables that could collide across organizations.

    Server-generated random public ids are globally unique by design and exempt.
    """
    offenders = []
    for model in tenant_models():
        if model._meta.db_table in RLS_EXEMPT_TABLES:
            continue
        org_field = _organization_field(model)
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key and field.name != "public_id":
                offenders.append(f"{model._meta.label}.{field.name}")
        groups: list[tuple[str, tuple[str, ...]]] = [
            (constraint.name, tuple(constraint.fields))
            for constraint in model._meta.constraints
            if isinstance(constraint, models.UniqueConstraint)
        ]
        groups += [("unique_together", tuple(g)) for g in model._meta.unique_together]
        offenders += [
            f"{model._meta.label}.{name}" for name, fields in groups if org_field not in fields
        ]
    return offenders

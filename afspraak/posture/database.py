"""Checks of the PostgreSQL database: the application's role and row-level security (D3)."""

from typing import Any

from django.db import connection

from afspraak.posture.results import Result, Target, failed, not_applicable, passed
from afspraak.tenancy.rls import tables_missing_rls

_SQLITE = "SQLite has no roles or row-level security (the scoped managers guard tenants)"


def role_problems(cursor: Any) -> list[str]:
    """Return what is wrong with ``cursor``'s role: superuser, BYPASSRLS, tables owned."""
    cursor.execute(
        "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    user, superuser, bypassrls = cursor.fetchone()
    cursor.execute(
        "SELECT tablename FROM pg_tables WHERE tableowner = current_user "
        "AND schemaname = current_schema() ORDER BY tablename"
    )
    owned = [row[0] for row in cursor.fetchall()]
    problems = []
    if superuser:
        problems.append(f"role {user} is a superuser")
    if bypassrls:
        problems.append(f"role {user} has BYPASSRLS")
    if owned:
        shown = ", ".join(owned[:5]) + (f" and {len(owned) - 5} more" if len(owned) > 5 else "")
        problems.append(f"role {user} owns {len(owned)} tables ({shown})")
    return problems


def check_database_role(target: Target) -> Result:
    """Fail when the application's database role is superuser, has BYPASSRLS or owns tables."""
    if connection.vendor != "postgresql":
        return not_applicable(_SQLITE)
    with connection.cursor() as cursor:
        problems = role_problems(cursor)
    if problems:
        return failed(
            "; ".join(problems) + ": connect as the app role of docs/runbooks/postgresql-roles.md"
        )
    return passed("the application's role is no superuser, has no BYPASSRLS and owns no table")


def check_row_level_security(target: Target) -> Result:
    """Fail when a tenant table lacks enabled and forced row-level security with its policy."""
    if connection.vendor != "postgresql":
        return not_applicable(_SQLITE)
    missing = tables_missing_rls(connection)
    if missing:
        return failed(
            "tenant tables without enabled, forced row-level security: " + ", ".join(missing)
        )
    return passed("every tenant table has row-level security enabled and forced")

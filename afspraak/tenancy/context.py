"""The tenant context: which organization a request, API call or job acts for (control D3).

Everything that touches tenant data runs inside ``organization_context(org)``: one
transaction, the django-scopes scope of that organization (unscoped queries raise)
and, on PostgreSQL, the transaction-local setting the row-level-security policies
read (``set_config(..., true)``: it ends with the transaction, so it is safe behind a
transaction-pooling proxy). Leaving the context restores the previous values, so
contexts nest.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django_scopes import scope, scopes_disabled

from afspraak.tenancy.models import Organization
from afspraak.tenancy.rls import ORGANIZATION_SETTING, USER_SETTING


def _set_local(using: str, values: dict[str, str]) -> dict[str, str]:
    """Set transaction-local settings on PostgreSQL; return the values they replace."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not values:
        return {}
    names = list(values)
    # One round trip for all of them: each old value is read before it is replaced.
    columns = ", ".join("current_setting(%s, true), set_config(%s, %s, true)" for _ in names)
    params = [part for name in names for part in (name, name, values[name])]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}", params)
        row = cursor.fetchone()
    return {name: row[2 * index] or "" for index, name in enumerate(names)}


@contextmanager
def organization_context(
    organization: Organization, *, user: Any = None, using: str = DEFAULT_DB_ALIAS
) -> Iterator[Organization]:
    """Run the block for ``organization`` alone: a transaction, its scope and its RLS setting."""
    if organization.pk is None:
        raise ValueError("an organization context needs a saved organization")
    values = {ORGANIZATION_SETTING: str(organization.pk)}
    if user is not None and user.pk is not None:
        values[USER_SETTING] = str(user.pk)
    outermost = not connections[using].in_atomic_block
    with transaction.atomic(using=using):
        previous = _set_local(using, values)
        with scope(organization=organization):
            yield organization
        # On an exception the transaction (or savepoint) rolls back, which undoes the
        # settings by itself; on success they are put back for an enclosing context.
        # The outermost context's transaction commits next, which ends them anyway:
        # putting them back would cost every request a round trip for nothing.
        if not outermost:
            _set_local(using, previous)


@contextmanager
def user_context(user: Any, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block where the database lets ``user`` read their own memberships only."""
    outermost = not connections[using].in_atomic_block
    with transaction.atomic(using=using):
        previous = _set_local(using, {USER_SETTING: str(user.pk)})
        yield
        if not outermost:  # see organization_context
            _set_local(using, previous)


@contextmanager
def system_context() -> Iterator[str]:
    """Run a system job that must cross organizations; yield the database alias to use.

    The alias (``AFSPRAAK_SYSTEM_DATABASE``) connects as a role that bypasses row-level
    security in production; on SQLite it is the default connection. Only system jobs
    (offboarding across organizations, backups, retention) may use it.
    """
    alias = settings.AFSPRAAK_SYSTEM_DATABASE
    with transaction.atomic(using=alias), scopes_disabled():
        yield alias

"""Let transactional tests empty the database although some tables are append-only.

Tests that commit (``transactional_db``, the live server) are cleaned up by Django's
``flush``: a DELETE (SQLite) or TRUNCATE (PostgreSQL) of every table. The audit trail's
triggers refuse exactly that, so the flush would fail after any test that recorded an
event. This plugin lifts the database's triggers for the duration of that flush only
and puts them back right after, whatever happens; the append-only behaviour itself is
covered by the audit tests, which run with the triggers in place.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import TransactionTestCase


@contextmanager
def triggers_lifted(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Remove or disable the database's own triggers inside the block, then restore them."""
    if connection.vendor == "sqlite":
        with _sqlite_triggers_dropped(connection):
            yield
    elif connection.vendor == "postgresql":
        with _postgresql_triggers_disabled(connection):
            yield
    else:
        yield


@contextmanager
def _sqlite_triggers_dropped(connection: BaseDatabaseWrapper) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        triggers = cursor.fetchall()
        for name, _ in triggers:
            cursor.execute(f"DROP TRIGGER {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, definition in triggers:
                cursor.execute(definition)


@contextmanager
def _postgresql_triggers_disabled(connection: BaseDatabaseWrapper) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.tgrelid::regclass::text, t.tgname FROM pg_trigger t "
            "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'"
        )
        triggers = cursor.fetchall()
        for table, name in triggers:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for table, name in triggers:
                cursor.execute(
                    f"ALTER TABLE {table} ENABLE TRIGGER {connection.ops.quote_name(name)}"
                )


@pytest.fixture(autouse=True, scope="session")
def _flush_past_append_only_triggers() -> Iterator[None]:
    flush = TransactionTestCase.__dict__["_fixture_teardown"]

    def flush_with_triggers_lifted(test_case: Any) -> None:
        with _all_lifted(test_case._databases_names(include_mirrors=False)):
            flush(test_case)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", flush_with_triggers_lifted)
        yield


@contextmanager
def _all_lifted(aliases: list[str]) -> Iterator[None]:
    if not aliases:
        yield
        return
    with triggers_lifted(connections[aliases[0]]), _all_lifted(aliases[1:]):
        yield

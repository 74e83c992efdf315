"""The application's PostgreSQL role and row-level security on every tenant table."""

import psycopg
import pytest
from django.db import connection

from afspraak.posture.database import (
    check_database_role,
    check_row_level_security,
    role_problems,
)
from afspraak.posture.results import Status

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db]


def test_the_app_role_has_no_superuser_bypassrls_or_tables(postgres_server):
    kwargs = postgres_server.connection_kwargs("app", connection.settings_dict["NAME"])
    with psycopg.connect(**kwargs) as app, app.cursor() as cursor:
        assert role_problems(cursor) == []


def test_connecting_as_the_role_that_owns_the_tables_fails(posture_target):
    # The test run connects as the owner role that migrates: the misconfiguration itself.
    result = check_database_role(posture_target)

    assert result.status is Status.FAIL
    assert "role afspraak_owner owns" in result.detail


def test_every_tenant_table_under_forced_row_level_security_passes(posture_target):
    result = check_row_level_security(posture_target)

    assert result.status is Status.PASS, result.detail


def test_a_tenant_table_without_forced_row_level_security_fails(posture_target):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tenancy_membership NO FORCE ROW LEVEL SECURITY")

    result = check_row_level_security(posture_target)

    assert result.status is Status.FAIL
    assert result.detail.endswith("tenancy_membership")

"""PostgreSQL row-level security (control D3): even raw SQL sees one organization, and the
application's role can neither switch the policy off nor step around it."""

from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django.test import RequestFactory

from afspraak.accounts.models import User
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Invitation, Membership, Organization
from afspraak.tenancy.pages import organization_view
from afspraak.tenancy.rls import (
    ORGANIZATION_SETTING,
    USER_SETTING,
    app_role_grants_sql,
    tables_missing_rls,
)
from afspraak.tenancy.roles import Role
from afspraak.testing.factories import (
    InvitationFactory,
    MembershipFactory,
    OrganizationFactory,
)

pytestmark = pytest.mark.postgres_only

TENANT_TABLES = ("tenancy_membership", "tenancy_invitation")


def raw(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []


def organizations_seen(table: str) -> set[int]:
    return {row[0] for row in raw(f"SELECT organization_id FROM {table}")}  # noqa: S608 (fixed table names)


# --- on the application's own connection, inside the test's transaction --------------------------


def test_the_test_database_role_is_subject_to_row_level_security(db):
    # These tests rely on Django's role neither being a superuser nor bypassing RLS, as
    # the application's role in production; the table owner is bound by FORCE.
    assert raw("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user") == [
        (False, False)
    ]


def test_every_tenant_table_has_forced_rls_with_the_tenant_policy(db):
    assert tables_missing_rls(connection) == []


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_raw_sql_in_an_organization_context_sees_only_that_organization(tenants, table):
    InvitationFactory.create(organization=tenants.a)
    InvitationFactory.create(organization=tenants.b)
    with organization_context(tenants.a):
        assert organizations_seen(table) == {tenants.a.pk}
    with organization_context(tenants.b):
        assert organizations_seen(table) == {tenants.b.pk}


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_raw_sql_without_a_context_sees_no_tenant_rows(tenants, table):
    InvitationFactory.create(organization=tenants.a)
    assert organizations_seen(table) == set()
    assert raw(f"SELECT count(*) FROM {table}") == [(0,)]  # noqa: S608 (fixed table names)


def test_a_requests_raw_sql_sees_only_its_organization(tenants):
    @organization_view()
    def view(request):
        return organizations_seen("tenancy_membership")

    request = RequestFactory().get("/o/alpha/")
    request.user = tenants.owner.user
    request.session = SessionStore()
    assert view(request, org_slug="alpha") == {tenants.a.pk}


def test_writes_into_another_organization_are_refused_even_in_a_context(tenants):
    mine = tenants.member
    with organization_context(tenants.a):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            raw(
                "INSERT INTO tenancy_membership (public_id, organization_id, user_id, role, "
                "created_at) VALUES ('mem_sneaky', %s, %s, 'owner', now())",
                [tenants.b.pk, mine.user_id],
            )
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            raw(
                "UPDATE tenancy_membership SET organization_id = %s WHERE id = %s",
                [tenants.b.pk, mine.pk],
            )
        # Rows of B cannot even be aimed at: they are invisible, so nothing changes.
        raw("UPDATE tenancy_membership SET role = 'member' WHERE id = %s", [tenants.outsider.pk])
    with organization_context(tenants.b):
        assert Membership.objects.get(pk=tenants.outsider.pk).role == Role.OWNER


def test_a_user_context_reads_only_that_users_memberships_and_writes_none(tenants):
    MembershipFactory.create(organization=tenants.b, user=tenants.member.user, role=Role.MEMBER)
    with transaction.atomic():
        raw("SELECT set_config(%s, %s, true)", [USER_SETTING, str(tenants.member.user_id)])
        assert organizations_seen("tenancy_membership") == {tenants.a.pk, tenants.b.pk}
        assert raw("SELECT DISTINCT user_id FROM tenancy_membership") == [(tenants.member.user_id,)]
        raw(
            "UPDATE tenancy_membership SET role = 'owner' WHERE user_id = %s",
            [tenants.member.user_id],
        )
        assert raw("SELECT DISTINCT role FROM tenancy_membership") == [("member",)]
        assert organizations_seen("tenancy_invitation") == set()


def test_contexts_nest_and_restore_the_setting(tenants):
    def current():
        return raw("SELECT current_setting(%s, true)", [ORGANIZATION_SETTING])[0][0] or ""

    before = current()
    with organization_context(tenants.a):
        assert current() == str(tenants.a.pk)
        with organization_context(tenants.b):
            assert current() == str(tenants.b.pk)
        assert current() == str(tenants.a.pk)
        with pytest.raises(RuntimeError), organization_context(tenants.b):
            raise RuntimeError("a failing job")
        assert current() == str(tenants.a.pk)
    assert current() == before


def test_the_outermost_context_leaves_no_setting_on_the_connection(committed, django_db_blocker):
    # Outside any transaction: the context's own transaction commits, which must end the
    # setting (it is not put back explicitly then), or the next use of the connection
    # would act for that organization.
    with django_db_blocker.unblock():
        assert not connection.in_atomic_block
        with organization_context(committed.a):
            assert raw("SELECT current_setting(%s, true)", [ORGANIZATION_SETTING]) == [
                (str(committed.a.pk),)
            ]
        assert raw("SELECT current_setting(%s, true)", [ORGANIZATION_SETTING])[0][0] in ("", None)
        assert organizations_seen("tenancy_membership") == set()


# --- as the application's role, on its own connection, over committed rows ------------------------


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """Two organizations with members and invitations, committed so other connections see them."""
    with django_db_blocker.unblock():
        a = OrganizationFactory.create(slug="rls-a")
        b = OrganizationFactory.create(slug="rls-b")
        rows: dict[str, Any] = {
            "a": a,
            "b": b,
            "a_member": MembershipFactory.create(organization=a),
            "b_member": MembershipFactory.create(organization=b),
            "a_invitation": InvitationFactory.create(organization=a),
            "b_invitation": InvitationFactory.create(organization=b),
        }
        with connection.cursor() as cursor:
            for statement in app_role_grants_sql(_server().app_user):
                cursor.execute(statement)
    yield SimpleNamespace(**rows)
    with django_db_blocker.unblock():
        for organization in (a, b):
            # Inside its context, where the cascade can see the organization's rows.
            with organization_context(organization):
                Invitation.objects.all().delete()
                Membership.objects.all().delete()
                Organization.objects.filter(pk=organization.pk).delete()
        User.objects.filter(pk__in=[rows["a_member"].user_id, rows["b_member"].user_id]).delete()


def _server():
    from afspraak.testing.postgres import PostgresCoordinates

    return PostgresCoordinates.from_environ()


@pytest.fixture
def app(committed):
    """A connection as the application's role (no BYPASSRLS, owns nothing)."""
    kwargs = _server().connection_kwargs("app", connection.settings_dict["NAME"])
    with psycopg.connect(**kwargs) as app_connection:
        yield app_connection


def seen(app_connection, table: str) -> set[int]:
    rows = app_connection.execute(f"SELECT organization_id FROM {table}").fetchall()  # noqa: S608 (fixed table names)
    return {row[0] for row in rows}


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_app_role_with_no_setting_sees_no_rows(app, committed, table):
    assert seen(app, table) == set()
    app.execute("SELECT set_config(%s, '', false)", [ORGANIZATION_SETTING])
    assert seen(app, table) == set()


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_app_role_with_the_setting_sees_that_organization_only(app, committed, table):
    with app.transaction():
        app.execute("SELECT set_config(%s, %s, true)", [ORGANIZATION_SETTING, str(committed.a.pk)])
        assert seen(app, table) == {committed.a.pk}
    # Transaction-local: gone with the transaction, as behind a pooling proxy.
    assert seen(app, table) == set()


def test_app_role_cannot_switch_row_security_off(app, committed):
    app.execute("SET row_security = off")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
        app.execute("SELECT count(*) FROM tenancy_membership")


@pytest.mark.parametrize(
    "statement",
    [
        "ALTER TABLE tenancy_membership DISABLE ROW LEVEL SECURITY",
        "ALTER TABLE tenancy_membership NO FORCE ROW LEVEL SECURITY",
        "DROP POLICY tenant_isolation ON tenancy_invitation",
        "CREATE POLICY open_door ON tenancy_invitation USING (true)",
        "SET ROLE afspraak_owner",
    ],
)
def test_app_role_cannot_disable_or_bypass_the_policy(app, committed, statement):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app.execute(statement)


def test_app_role_is_neither_superuser_nor_bypasser_nor_owner(app, committed):
    assert app.execute(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ).fetchall() == [(False, False)]
    assert app.execute(
        "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
    ).fetchall() == [(0,)]

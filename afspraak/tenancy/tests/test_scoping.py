"""Tenant scoping on every engine: scoped managers refuse unscoped queries, contexts nest,
and the registry checks catch a tenant model without its protections."""

from types import SimpleNamespace

import pytest
from django.conf import settings
from django.db import connection, models
from django_scopes.exceptions import ScopeError

from afspraak.tenancy import rls
from afspraak.tenancy.context import organization_context, system_context
from afspraak.tenancy.models import Invitation, Membership
from afspraak.tenancy.rls import (
    app_role_grants_sql,
    unique_rules_without_organization,
    unscoped_tenant_models,
)
from afspraak.testing.factories import InvitationFactory


@pytest.mark.parametrize("model", [Membership, Invitation])
def test_tenant_queries_outside_a_context_raise(tenants, model):
    with pytest.raises(ScopeError):
        list(model.objects.all())


def test_a_context_shows_its_organization_only(tenants):
    InvitationFactory.create(organization=tenants.a)
    InvitationFactory.create(organization=tenants.b)
    with organization_context(tenants.b):
        assert {m.organization_id for m in Membership.objects.all()} == {tenants.b.pk}
        assert {i.organization_id for i in Invitation.objects.all()} == {tenants.b.pk}
        with organization_context(tenants.a):
            assert Membership.objects.count() == 4
        assert Membership.objects.count() == 1


def test_every_tenant_model_has_a_scoped_manager():
    assert unscoped_tenant_models() == []


def test_unique_rules_of_tenant_tables_include_the_organization():
    assert unique_rules_without_organization() == []


def test_system_context_uses_the_system_connection_without_scopes(tenants):
    with system_context() as alias:
        assert alias == settings.AFSPRAAK_SYSTEM_DATABASE
        # No ScopeError: system jobs may query across organizations (RLS still applies to
        # a connection whose role does not bypass it).
        Membership.objects.using(alias).count()


def test_app_role_grants_are_plain_sql_for_one_role():
    statements = app_role_grants_sql("afspraak_app")
    assert statements[1] == (
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "afspraak_app"'
    )
    assert all('"afspraak_app"' in statement for statement in statements)
    with pytest.raises(ValueError, match="plain SQL identifier"):
        app_role_grants_sql('app"; DROP TABLE tenancy_membership; --')


def test_runbook_shows_the_same_grants_the_tests_apply():
    runbook = (settings.BASE_DIR / "docs" / "runbooks" / "postgresql-roles.md").read_text()
    for statement in app_role_grants_sql("afspraak_app"):
        assert f"{statement};" in runbook


def test_settings_are_left_alone_on_engines_without_row_level_security(tenants):
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('afspraak.organization_id', true)")
            assert cursor.fetchone()[0] in (None, "")
    with organization_context(tenants.a):
        assert Membership.objects.filter(user=tenants.owner.user).exists()


def test_a_model_may_skip_scoping_only_by_giving_its_reason(monkeypatch):
    plain = SimpleNamespace(
        _meta=SimpleNamespace(db_table="keys_table", label="crypto.Keys"),
        _default_manager=models.Manager(),
    )
    monkeypatch.setattr(rls, "tenant_models", lambda: [plain])
    assert unscoped_tenant_models() == ["crypto.Keys"]
    plain.tenant_scope_exempt_reason = "read by organization id in keysets.py only"
    assert unscoped_tenant_models() == []

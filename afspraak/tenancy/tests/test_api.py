"""API v1 organization endpoints: the same 404s and 403s as the pages."""

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Role
from afspraak.testing.audit import only_event
from afspraak.testing.factories import MembershipFactory

MISSING = "mem_00000000000000000000"


def exists(membership) -> bool:
    with organization_context(membership.organization):
        return Membership.objects.filter(pk=membership.pk).exists()


def test_organizations_lists_only_the_callers_organizations(client, tenants):
    MembershipFactory.create(organization=tenants.b, user=tenants.member.user, role=Role.AUDITOR)
    client.force_login(tenants.member.user)
    response = client.get("/api/v1/organizations")
    assert response.status_code == 200
    assert {(o["slug"], o["role"]) for o in response.json()} == {
        ("alpha", "member"),
        ("beta", "auditor"),
    }


def test_members_of_an_organization_for_those_who_may_see_them(client, tenants):
    client.force_login(tenants.auditor.user)
    response = client.get("/api/v1/organizations/alpha/members")
    assert response.status_code == 200
    assert {m["email"] for m in response.json()} == {
        "owner@a.test",
        "admin@a.test",
        "member@a.test",
        "audit@a.test",
    }
    client.force_login(tenants.member.user)
    assert client.get("/api/v1/organizations/alpha/members").status_code == 403


def test_outsider_and_missing_organization_get_the_same_404(client, tenants):
    client.force_login(tenants.outsider.user)
    theirs = client.get("/api/v1/organizations/alpha/members")
    missing = client.get("/api/v1/organizations/no-such-organization/members")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json() == {"detail": "No such organization."}


def test_anonymous_callers_are_refused(client, tenants):
    assert client.get("/api/v1/organizations/alpha/members").status_code == 403


def test_another_organizations_member_is_missing_in_the_api_too(client, tenants):
    client.force_login(tenants.owner.user)
    for method in ("get", "delete"):
        probed = getattr(client, method)(
            f"/api/v1/organizations/alpha/members/{tenants.outsider.public_id}"
        )
        missing = getattr(client, method)(f"/api/v1/organizations/alpha/members/{MISSING}")
        assert probed.status_code == missing.status_code == 404
        assert probed.json() == missing.json() == {"detail": "No such member."}
    assert exists(tenants.outsider)


def test_admin_removes_a_member_through_the_api(client, tenants):
    client.force_login(tenants.admin.user)
    reauthenticate(client)
    response = client.delete(f"/api/v1/organizations/alpha/members/{tenants.member.public_id}")
    assert response.status_code == 204
    assert not exists(tenants.member)
    assert only_event("tenancy.member.removed").actor == tenants.admin.user


def test_admin_cannot_remove_an_owner_through_the_api(client, tenants):
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    client.force_login(tenants.admin.user)
    response = client.delete(f"/api/v1/organizations/alpha/members/{tenants.owner.public_id}")
    assert response.status_code == 403
    assert "Only an owner" in response.json()["detail"]
    assert exists(tenants.owner)


@pytest.mark.parametrize("role", ["member", "auditor"])
def test_roles_without_member_management_cannot_remove_through_the_api(client, tenants, role):
    client.force_login(tenants.of_role(role).user)
    response = client.delete(f"/api/v1/organizations/alpha/members/{tenants.admin.public_id}")
    assert response.status_code == 403
    assert exists(tenants.admin)


@pytest.mark.parametrize("with_accounts_middleware", [True, False])
def test_api_requires_mfa_where_the_organization_does(
    client, tenants, settings, with_accounts_middleware
):
    if not with_accounts_middleware:
        settings.MIDDLEWARE = [
            m
            for m in settings.MIDDLEWARE
            if m != "afspraak.accounts.middleware.RequireMFAMiddleware"
        ]
    Organization.objects.filter(pk=tenants.a.pk).update(require_mfa=True)
    client.force_login(tenants.auditor.user)
    assert client.get("/api/v1/organizations/alpha/members").status_code == 403
    TOTP.activate(tenants.auditor.user, generate_totp_secret())
    assert client.get("/api/v1/organizations/alpha/members").status_code == 200

"""API tokens: made once with a recent password, kept as a keyed hash, narrowed to the role."""

import hashlib
import hmac
from datetime import timedelta

import pytest
from django.urls import reverse

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.crypto.system_secrets import system_secret
from afspraak.errors import DomainError, NotFoundError
from afspraak.tenancy.access import AccessDeniedError, Refusal
from afspraak.tenancy.api_tokens import (
    HASH_PURPOSE,
    api_tokens_of,
    create_api_token,
    find_api_token,
    get_api_token_for,
    revoke_api_token,
)
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.membership import remove_member
from afspraak.tenancy.models import ApiToken, ApiTokenScope
from afspraak.tenancy.roles import Permission, role_permissions
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited
from afspraak.testing.clock import CLOCK_START

pytestmark = pytest.mark.django_db


def make_token(membership, scope=ApiTokenScope.ROLE, **kwargs):
    return create_api_token(
        member_access(membership, reauthenticated=True), name="Reporting", scope=scope, **kwargs
    )


def test_the_secret_is_shown_once_and_kept_only_as_a_keyed_hash(tenants, clock):
    token, secret = make_token(tenants.admin)

    assert secret.startswith("afs_")
    assert len(secret) >= len("afs_") + 43  # 32 random bytes, base64url
    expected = hmac.new(system_secret(HASH_PURPOSE), secret.encode(), hashlib.sha256)
    with organization_context(tenants.a):
        stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == expected.hexdigest()
    assert stored.prefix == secret[:12]
    assert secret not in {str(value) for value in stored.__dict__.values()}
    assert stored.expires_at == CLOCK_START + timedelta(days=90)  # the default
    assert_audited(
        "tenancy.api_token.created",
        actor=tenants.admin.user,
        organization=tenants.a,
        data={"credential": token.public_id, "scope": "role"},
    )


def test_making_a_token_needs_a_recent_password(tenants):
    with pytest.raises(AccessDeniedError) as refused:
        create_api_token(member_access(tenants.admin), name="CI", scope=ApiTokenScope.ROLE)
    assert refused.value.reason == Refusal.REAUTHENTICATION
    with organization_context(tenants.a):
        assert not ApiToken.objects.exists()


def test_a_token_lasts_at_most_a_year_and_needs_a_name(tenants):
    with pytest.raises(DomainError, match="1 to 365 days"):
        make_token(tenants.admin, lifetime_days=366)
    with pytest.raises(DomainError, match="name"):
        create_api_token(
            member_access(tenants.admin, reauthenticated=True), name="  ", scope="role"
        )
    token, _ = make_token(tenants.admin, lifetime_days=365)
    assert token.expires_at - token.created_at == timedelta(days=365)


def test_the_scope_only_narrows_the_role(tenants):
    read, _ = make_token(tenants.admin, scope=ApiTokenScope.READ)
    full, _ = make_token(tenants.admin, scope=ApiTokenScope.ROLE)

    assert read.granted_permissions == {
        Permission.VIEW_MEMBERS,
        Permission.VIEW_ALL_BOOKINGS,
        Permission.VIEW_SECURITY,
        Permission.VIEW_AUDIT_LOG,
    }
    # Everything the role allows, except making tokens: a token does not mint tokens.
    assert full.granted_permissions == role_permissions("admin") - {
        Permission.MANAGE_OWN_API_TOKENS
    }
    # A plain member may read nothing, so a read-only token would be empty: refused.
    with pytest.raises(DomainError, match="allows nothing"):
        make_token(tenants.member, scope=ApiTokenScope.READ)
    with pytest.raises(DomainError, match="scopes offered"):
        make_token(tenants.member, scope="admin")


def test_members_see_their_own_tokens_and_security_viewers_see_all(tenants):
    owners, _ = make_token(tenants.owner)
    members, _ = make_token(tenants.member)

    def visible(membership):
        access = member_access(membership)
        with access.scope():
            return {token.public_id for token in api_tokens_of(access)}

    assert visible(tenants.member) == {members.public_id}
    assert (
        visible(tenants.owner)
        == visible(tenants.auditor)
        == {
            owners.public_id,
            members.public_id,
        }
    )
    # Another member's token is as missing as a token that does not exist.
    with pytest.raises(NotFoundError):
        get_api_token_for(member_access(tenants.member), owners.public_id)


def test_admins_revoke_any_token_members_their_own_auditors_none(tenants):
    members, _ = make_token(tenants.member)
    admins, _ = make_token(tenants.admin)

    with pytest.raises(AccessDeniedError):
        get_api_token_for(member_access(tenants.auditor), members.public_id, write=True)
    revoke_api_token(member_access(tenants.admin), members)
    revoke_api_token(member_access(tenants.admin), admins)

    assert_audited(
        "tenancy.api_token.revoked",
        actor=tenants.admin.user,
        data={"credential": members.public_id, "user": tenants.member.user.public_id},
    )
    assert find_api_token("afs_" + "x" * 43) is None


def test_removing_a_member_revokes_their_tokens(tenants):
    token, _ = make_token(tenants.admin)

    remove_member(member_access(tenants.owner, reauthenticated=True), tenants.admin)

    with organization_context(tenants.a):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert_audited(
        "tenancy.api_token.revoked",
        data={"credential": token.public_id, "trigger": "member_removed"},
    )


def test_the_tokens_page_lists_without_secrets_and_revokes_after_asking(client, tenants):
    token, secret = make_token(tenants.member)
    client.force_login(tenants.member.user)

    page = client.get(reverse("tenancy:api_tokens", args=["alpha"]))
    confirm = client.get(reverse("tenancy:api_token_revoke", args=["alpha", token.public_id]))
    done = client.post(reverse("tenancy:api_token_revoke", args=["alpha", token.public_id]))

    assert page.status_code == 200
    assert token.prefix in page.text
    assert secret not in page.text
    assert "Revoke token" in confirm.text
    assert done.status_code == 302
    with organization_context(tenants.a):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_creating_on_the_page_asks_for_the_password_first_and_shows_the_secret_once(
    client, tenants
):
    client.force_login(tenants.auditor.user)
    url = reverse("tenancy:api_token_create", args=["alpha"])

    asked = client.get(url)
    reauthenticate(client)
    form = client.get(url)
    made = client.post(url, {"name": "Audit export", "scope": "read", "lifetime_days": "30"})

    assert reverse("account_reauthenticate") in asked["Location"]
    assert form.status_code == 200
    assert made.status_code == 200
    assert made["Cache-Control"] == "no-store"
    with organization_context(tenants.a):
        token = ApiToken.objects.get()
    secret = made.context["secret"]
    assert secret in made.text
    assert find_api_token(secret) == token
    listing = client.get(reverse("tenancy:api_tokens", args=["alpha"]))
    assert secret not in listing.text


def test_the_create_form_refuses_a_lifetime_over_a_year(client, tenants):
    client.force_login(tenants.auditor.user)
    reauthenticate(client)
    response = client.post(
        reverse("tenancy:api_token_create", args=["alpha"]),
        {"name": "Audit export", "scope": "read", "lifetime_days": "400"},
    )
    assert response.status_code == 400
    assert "365" in response.text


def test_the_tokens_page_costs_the_same_queries_for_one_token_or_many(
    client, tenants, django_assert_max_num_queries
):
    make_token(tenants.member)
    client.force_login(tenants.owner.user)
    url = reverse("tenancy:api_tokens", args=["alpha"])
    client.get(url)  # warm the session and the caches
    with django_assert_max_num_queries(100) as one:
        client.get(url)
    for membership in (tenants.owner, tenants.admin, tenants.auditor):
        make_token(membership)

    with django_assert_max_num_queries(len(one.captured_queries)) as many:
        page = client.get(url)

    assert len(many.captured_queries) == len(one.captured_queries)
    assert len(page.context["tokens"]) == 4


def test_the_audit_log_tells_token_events_in_words(client, tenants):
    token, _ = make_token(tenants.member)
    revoke_api_token(member_access(tenants.admin), token)
    client.force_login(tenants.owner.user)

    page = client.get(reverse("tenancy:audit_log", args=["alpha"]))

    assert "made an API token (role scope, valid 90 days)" in page.text
    assert "revoked an API token of" in page.text

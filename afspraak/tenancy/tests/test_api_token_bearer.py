"""``Authorization: Bearer afs_…`` on the real API: the session's Access, narrowed to the token."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from afspraak.api.authentication import FAILURES_PER_ADDRESS
from afspraak.security.models import MemberSuspension
from afspraak.tenancy import api_tokens
from afspraak.tenancy.api_tokens import create_api_token, find_api_token, revoke_api_token
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.membership import change_member_role, remove_member
from afspraak.tenancy.models import ApiToken, ApiTokenScope, Membership
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited, assert_not_audited
from afspraak.testing.factories import MembershipFactory

pytestmark = pytest.mark.django_db

MEMBERS = "/api/v1/organizations/alpha/members"


def make_token(membership, scope=ApiTokenScope.ROLE, **kwargs):
    access = member_access(membership, reauthenticated=True)
    return create_api_token(access, name="Sync", scope=scope, **kwargs)


def bearer(secret: str, **extra) -> dict:
    # A fresh address per test keeps the refused-token counter to the test.
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}", "REMOTE_ADDR": "192.0.2.10", **extra}


def stored(token) -> ApiToken:
    with organization_context(token.organization):
        return ApiToken.objects.get(pk=token.pk)


def test_a_valid_token_reads_what_its_member_may_and_notes_the_use(client, tenants, clock):
    token, secret = make_token(tenants.admin)

    response = client.get(MEMBERS, **bearer(secret))

    assert response.status_code == 200
    assert len(response.json()) == 4
    assert stored(token).last_used_at is not None


def test_last_use_is_written_at_most_once_a_minute(client, tenants, clock):
    token, secret = make_token(tenants.admin)
    client.get(MEMBERS, **bearer(secret))
    first = stored(token).last_used_at
    assert first is not None

    clock.shift(timedelta(seconds=30))
    client.get(MEMBERS, **bearer(secret))
    assert stored(token).last_used_at == first
    clock.shift(timedelta(seconds=31))
    client.get(MEMBERS, **bearer(secret))
    assert stored(token).last_used_at == first + timedelta(seconds=61)


def test_a_token_lists_only_its_own_organization(client, tenants):
    MembershipFactory.create(organization=tenants.b, user=tenants.admin.user, role=Role.ADMIN)
    _, secret = make_token(tenants.admin)

    response = client.get(reverse("api:organizations"), **bearer(secret))

    assert [organization["slug"] for organization in response.json()] == ["alpha"]


def test_a_token_used_against_another_organization_is_answered_as_an_outsider(client, tenants):
    MembershipFactory.create(organization=tenants.b, user=tenants.admin.user, role=Role.ADMIN)
    _, secret = make_token(tenants.admin)

    response = client.get("/api/v1/organizations/beta/members", **bearer(secret))

    assert response.status_code == 404
    assert response.json() == {"detail": "No such organization."}
    assert_audited(
        "tenancy.access.denied",
        actor=tenants.admin.user,
        organization=tenants.a,
        data={"reason": "token_other_organization"},
    )


def test_an_expired_token_is_refused_and_audited(client, tenants, clock):
    token, secret = make_token(tenants.admin, lifetime_days=1)
    clock.shift(timedelta(days=1, seconds=1))

    response = client.get(MEMBERS, **bearer(secret))

    assert response.status_code == 401
    assert response.json() == {"detail": "This API token has expired: make a new one."}
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_audited(
        "tenancy.api_token.refused",
        actor=tenants.admin.user,
        organization=tenants.a,
        outcome="denied",
        data={"reason": "expired", "credential": token.public_id},
    )


def test_a_revoked_token_is_refused_on_its_next_call(client, tenants):
    token, secret = make_token(tenants.member)
    assert client.get(reverse("api:organizations"), **bearer(secret)).status_code == 200

    revoke_api_token(member_access(tenants.owner), token)
    response = client.get(reverse("api:organizations"), **bearer(secret))

    assert response.status_code == 401
    assert_audited("tenancy.api_token.refused", data={"reason": "revoked"})


def test_an_unknown_or_malformed_token_is_refused_without_naming_anyone(client, tenants):
    _, secret = make_token(tenants.admin)
    # The same secret with its last character changed: nothing matches it.
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")

    unknown = client.get(MEMBERS, **bearer(wrong))
    malformed = client.get(MEMBERS, **bearer("afs_a b"))

    assert unknown.status_code == malformed.status_code == 401
    assert_audited("tenancy.api_token.refused", organization=None, data={"reason": "unknown"})
    assert_audited("tenancy.api_token.refused", data={"reason": "malformed"})


def test_a_removed_members_token_is_refused(client, tenants):
    _, secret = make_token(tenants.admin)

    remove_member(member_access(tenants.owner, reauthenticated=True), tenants.admin)

    assert client.get(MEMBERS, **bearer(secret)).status_code == 401


def test_a_token_whose_member_is_gone_without_revocation_still_opens_nothing(client, tenants):
    # Defence in depth: the access is built from the membership at each call.
    _, secret = make_token(tenants.admin)
    with organization_context(tenants.a):
        Membership.objects.filter(pk=tenants.admin.pk).delete()

    response = client.get(MEMBERS, **bearer(secret))

    assert response.status_code == 404
    assert_audited("tenancy.access.denied", data={"reason": "not_member"})


def test_a_suspended_members_token_is_refused_until_the_suspension_is_lifted(client, tenants):
    _, secret = make_token(tenants.admin)
    MemberSuspension.objects.create(organization=tenants.a, user=tenants.admin.user)

    response = client.get(MEMBERS, **bearer(secret))

    assert response.status_code == 403
    assert "suspended" in response.json()["detail"]
    assert_audited("tenancy.access.denied", data={"reason": "suspended"})


def test_a_read_only_token_cannot_write(client, tenants):
    _, secret = make_token(tenants.admin, scope=ApiTokenScope.READ)
    url = f"{MEMBERS}/{tenants.member.public_id}"

    assert client.get(url, **bearer(secret)).status_code == 200
    response = client.delete(url, **bearer(secret))

    assert response.status_code == 403
    assert_audited(
        "tenancy.access.denied",
        actor=tenants.admin.user,
        data={"reason": "permission", "permission": "can_manage_members"},
    )
    with organization_context(tenants.a):
        assert Membership.objects.filter(pk=tenants.member.pk).exists()


def test_a_full_token_needs_no_csrf_but_never_counts_as_a_fresh_password(tenants):
    client = Client(enforce_csrf_checks=True)
    _, secret = make_token(tenants.owner)

    response = client.delete(f"{MEMBERS}/{tenants.member.public_id}", secure=True, **bearer(secret))

    # Refused for the password a removal needs, not for a missing CSRF token.
    assert response.status_code == 403
    assert "password" in response.json()["detail"]
    assert_audited("tenancy.access.denied", data={"reason": "reauthentication_required"})


def test_a_demoted_members_token_loses_what_the_role_lost(client, tenants):
    _, secret = make_token(tenants.admin)
    assert client.get(MEMBERS, **bearer(secret)).status_code == 200

    change_member_role(member_access(tenants.owner, reauthenticated=True), tenants.admin, "member")

    assert client.get(MEMBERS, **bearer(secret)).status_code == 403


def test_a_token_does_not_reach_the_account(client, tenants):
    _, secret = make_token(tenants.member)

    response = client.post(
        reverse("api:account_password_check"),
        {"password": "x"},
        content_type="application/json",
        **bearer(secret),
    )

    assert response.status_code == 403


def test_an_address_sending_many_refused_tokens_is_slowed_down(client, tenants):
    _, secret = make_token(tenants.admin)
    for _ in range(FAILURES_PER_ADDRESS):
        assert client.get(MEMBERS, **bearer("afs_wrong")).status_code == 401

    throttled = client.get(MEMBERS, **bearer(secret))
    elsewhere = client.get(MEMBERS, **bearer(secret, REMOTE_ADDR="192.0.2.11"))

    assert throttled.status_code == 429
    assert elsewhere.status_code == 200


def test_the_lookup_is_by_keyed_hash_and_compares_in_constant_time(tenants, monkeypatch):
    token, secret = make_token(tenants.admin)
    compared = []
    real = api_tokens.hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(api_tokens.hmac, "compare_digest", spy)

    assert find_api_token(secret) == token
    # Found through the unique index on the hash, then compared without early exit.
    assert compared == [(token.key_hash, token.key_hash)]
    assert ApiToken._meta.get_field("key_hash").unique
    assert find_api_token("not-a-token") is None
    assert_not_audited("tenancy.api_token.refused")


def test_an_organization_requiring_mfa_refuses_the_token_of_a_member_without_it(client, tenants):
    _, secret = make_token(tenants.admin)
    tenants.a.require_mfa = True
    tenants.a.save(update_fields=["require_mfa"])

    response = client.get(MEMBERS, **bearer(secret))

    assert response.status_code == 403
    assert_audited("tenancy.access.denied", data={"reason": "mfa_required"})

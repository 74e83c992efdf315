"""Access sources: a non-member reaches an organization only through one, and only for a page
that names its permission; the access a source gives passes every check after it."""

import pytest
from django.urls import reverse

from afspraak.audit.context import AuditContext
from afspraak.tenancy.access import (
    SUPPORT_PERMISSIONS,
    Access,
    ActorKind,
    access_for_support_grant,
    register_access_source,
    register_gate,
    unregister_access_source,
    unregister_gate,
)
from afspraak.tenancy.roles import Permission
from afspraak.testing.audit import assert_audited


@pytest.fixture
def source_for_outsider(tenants):
    asked = []

    def source(request, organization, permission):
        asked.append(permission)
        if request.user != tenants.outsider.user:
            return None
        # Not a staff access: the compliance app's gate keeps those for staff in good standing.
        return Access(
            organization=organization,
            kind=ActorKind.MEMBER,
            permissions=SUPPORT_PERMISSIONS,
            context=AuditContext(actor=request.user),
        )

    register_access_source("test", source)
    yield asked
    unregister_access_source("test")


def test_a_source_opens_read_pages_to_a_non_member(client, tenants, source_for_outsider):
    client.force_login(tenants.outsider.user)

    assert client.get(reverse("tenancy:members", args=["alpha"])).status_code == 200
    assert source_for_outsider == [Permission.VIEW_MEMBERS]


def test_a_source_is_not_asked_for_members_or_member_only_pages(
    client, tenants, source_for_outsider
):
    client.force_login(tenants.owner.user)
    client.get(reverse("tenancy:members", args=["alpha"]))
    client.force_login(tenants.outsider.user)
    home = client.get(reverse("tenancy:home", args=["alpha"]))

    assert home.status_code == 404
    assert source_for_outsider == []


def test_a_sourced_access_is_refused_what_it_does_not_grant(client, tenants, source_for_outsider):
    client.force_login(tenants.outsider.user)

    response = client.post(reverse("tenancy:invite", args=["alpha"]), {"email": "x@example.test"})

    assert response.status_code == 403
    assert_audited(
        "tenancy.access.denied",
        actor=tenants.outsider.user,
        organization=tenants.a,
        data={"reason": "permission", "permission": "can_manage_members"},
    )


def test_gates_run_on_a_sourced_access_with_their_message(client, tenants, source_for_outsider):
    register_gate(
        "test", lambda access, permission: "test_gate", {"test_gate": "The test gate is shut."}
    )
    try:
        client.force_login(tenants.outsider.user)
        response = client.get(reverse("tenancy:members", args=["alpha"]))
    finally:
        unregister_gate("test")

    assert response.status_code == 403
    assert "The test gate is shut." in response.content.decode()
    assert_audited("tenancy.access.denied", data={"reason": "test_gate"})


def test_a_support_grant_access_reads_and_never_writes(tenants):
    access = access_for_support_grant(tenants.a, "sup_x", AuditContext())

    assert access.kind == ActorKind.STAFF
    assert access.support_grant_public_id == "sup_x"
    assert access.permissions == SUPPORT_PERMISSIONS
    assert not any(access.has(p) for p in Permission if not p.value.startswith("can_view"))

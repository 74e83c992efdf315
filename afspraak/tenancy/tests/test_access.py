"""The one access decision: pages, API and domain functions refuse alike, and audit alike."""

from dataclasses import replace

import pytest
from django.urls import reverse

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.audit.models import AuditEvent
from afspraak.bookings.links import invitee_url
from afspraak.bookings.tests.url_matrix import members_booking
from afspraak.tenancy.access import (
    AccessDeniedError,
    ActorKind,
    Refusal,
    register_gate,
    unregister_gate,
)
from afspraak.tenancy.membership import change_member_role
from afspraak.tenancy.roles import Permission, Role
from afspraak.testing.access import member_access, system_access
from afspraak.testing.audit import assert_audited, events
from afspraak.testing.factories import DEFAULT_PASSWORD

MEMBERS_PAGE = "/o/alpha/members/"
MEMBERS_API = "/api/v1/organizations/alpha/members"


def _refusal(event: AuditEvent) -> tuple:
    return (
        event.action,
        event.outcome,
        event.actor_id,
        event.organization_id,
        event.target_type,
        event.data,
    )


def test_the_api_refuses_a_member_exactly_as_the_page_does(client, tenants):
    client.force_login(tenants.member.user)

    assert client.get(MEMBERS_PAGE).status_code == 403
    assert client.get(MEMBERS_API).status_code == 403

    page_refusal, api_refusal = events("tenancy.access.denied")
    assert _refusal(page_refusal) == _refusal(api_refusal)
    assert page_refusal.outcome == "denied"
    assert page_refusal.organization == tenants.a
    assert page_refusal.data == {
        "reason": "permission",
        "permission": "can_view_members",
        "organization": tenants.a.public_id,
    }


def test_an_outsider_gets_the_missing_organizations_404_from_page_and_api_alike(client, tenants):
    client.force_login(tenants.outsider.user)

    page, api = client.get(MEMBERS_PAGE), client.get(MEMBERS_API)
    missing_page = client.get("/o/no-such-org/members/")
    missing_api = client.get("/api/v1/organizations/no-such-org/members")

    assert page.status_code == missing_page.status_code == 404
    assert api.status_code == missing_api.status_code == 404
    assert api.json() == missing_api.json()
    # The probe is audited, but not into the organization's own log.
    page_probe, api_probe = events("tenancy.access.denied")
    assert _refusal(page_probe) == _refusal(api_probe)
    assert page_probe.organization is None
    assert page_probe.data["reason"] == "not_member"


@pytest.fixture
def training_gate():
    """A gate as staff training will be: it refuses one permission, for one reason."""

    def gate(access, permission):
        return "training_expired" if permission == Permission.VIEW_AUDIT_LOG else None

    register_gate("tests.training", gate)
    yield
    unregister_gate("tests.training")


def test_a_gate_refuses_through_the_one_access_decision_and_is_audited(
    client, tenants, training_gate
):
    client.force_login(tenants.admin.user)

    assert client.get("/o/alpha/audit/").status_code == 403
    assert client.get(MEMBERS_PAGE).status_code == 200

    assert_audited(
        "tenancy.access.denied",
        actor=tenants.admin.user,
        data={"reason": "training_expired", "permission": "can_view_audit_log"},
    )
    access = member_access(tenants.admin)
    assert not access.has(Permission.VIEW_AUDIT_LOG)
    with pytest.raises(AccessDeniedError) as refused:
        access.require(Permission.VIEW_AUDIT_LOG)
    assert refused.value.reason == "training_expired"


def test_without_the_gate_the_same_page_is_served(client, tenants):
    client.force_login(tenants.admin.user)
    assert client.get("/o/alpha/audit/").status_code == 200


def test_a_role_change_needs_a_recent_reauthentication(tenants):
    stale = member_access(tenants.admin)

    with pytest.raises(AccessDeniedError) as refused:
        change_member_role(stale, tenants.member, Role.AUDITOR)

    assert refused.value.reason == Refusal.REAUTHENTICATION
    assert not events("tenancy.member.role_changed")
    change_member_role(replace(stale, reauthenticated=True), tenants.member, Role.AUDITOR)
    assert_audited("tenancy.member.role_changed", data={"to": "auditor"})


def test_the_role_page_asks_for_the_password_then_makes_the_change(client, tenants):
    client.force_login(tenants.admin.user)
    url = f"/o/alpha/members/{tenants.member.public_id}/role/"

    asked = client.post(url, {"role": "auditor"})

    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    assert not events("tenancy.member.role_changed")
    # allauth replays the suspended change once the password is confirmed.
    confirmed = client.post(asked["Location"], {"password": DEFAULT_PASSWORD})
    assert confirmed.status_code == 302
    assert_audited("tenancy.member.role_changed", data={"to": "auditor"})


def test_removing_a_member_through_the_api_needs_a_recent_reauthentication(client, tenants):
    client.force_login(tenants.admin.user)
    url = f"{MEMBERS_API}/{tenants.member.public_id}"

    refused = client.delete(url)

    assert refused.status_code == 403
    assert "password again" in refused.json()["detail"]
    assert_audited("tenancy.access.denied", data={"reason": "reauthentication_required"})
    reauthenticate(client)
    assert client.delete(url).status_code == 204


def test_a_role_the_actor_may_not_give_is_refused_before_any_password_is_asked(client, tenants):
    client.force_login(tenants.admin.user)

    refused = client.post(f"/o/alpha/members/{tenants.member.public_id}/role/", {"role": "owner"})

    assert refused.status_code == 403
    assert "Only an owner" in refused.content.decode()
    assert_audited("tenancy.access.denied", data={"permission": "can_manage_owners"})


@pytest.fixture
def closed_to_outsiders():
    """A gate that refuses every visitor's and invitee's access (as an outage switch would)."""

    def gate(access, permission):
        return "closed" if access.kind in (ActorKind.VISITOR, ActorKind.INVITEE) else None

    register_gate("tests.closed", gate)
    yield
    unregister_gate("tests.closed")


@pytest.fixture
def booking(tenants, clock):
    return members_booking(tenants)


# The booking is made first: the gate closes afterwards.
def test_gates_hold_on_the_public_pages_and_invitee_links_too(client, booking, closed_to_outsiders):
    invitee_page = client.get(invitee_url(booking))
    public_page = client.get(reverse("bookings:organization", args=["alpha"]))

    assert invitee_page.status_code == 403
    # The link is the key to the booking: a refusal keeps it out of caches and referrers.
    assert invitee_page["Cache-Control"] == "private, no-store"
    assert invitee_page["Referrer-Policy"] == "no-referrer"
    assert public_page.status_code == 403
    refusals = events("tenancy.access.denied")
    assert [(e.data["reason"], e.data["permission"]) for e in refusals] == [
        ("closed", "can_change_own_booking"),
        ("closed", "can_book_meeting"),
    ]


def test_gates_do_not_stop_an_operators_command(tenants, closed_to_outsiders, training_gate):
    access = system_access(tenants.a)
    access.require(Permission.VIEW_AUDIT_LOG)
    access.require(Permission.BOOK_MEETING)

"""Role changes, removals and leaving: who may do what to whom, and the audit trail of it."""

import pytest

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.errors import NotFoundError
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import RuleViolationError, TenancyError
from afspraak.tenancy.membership import change_member_role, leave_organization, remove_member
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access, member_of
from afspraak.testing.audit import events, only_event
from afspraak.testing.factories import MembershipFactory


def role_of(membership: Membership) -> str | None:
    with organization_context(membership.organization):
        found = Membership.objects.filter(pk=membership.pk).first()
    return found.role if found else None


def test_admin_changes_a_members_role_and_it_is_audited(tenants):
    change_member_role(
        member_access(tenants.admin, reauthenticated=True), tenants.member, "auditor"
    )
    assert role_of(tenants.member) == Role.AUDITOR
    event = only_event("tenancy.member.role_changed")
    assert event.actor == tenants.admin.user
    assert event.organization == tenants.a
    assert event.target_id == tenants.member.public_id
    assert event.data == {"user": tenants.member.user.public_id, "from": "member", "to": "auditor"}


def test_admin_cannot_make_anyone_owner(tenants):
    with pytest.raises(AccessDeniedError):
        change_member_role(
            member_access(tenants.admin, reauthenticated=True), tenants.member, "owner"
        )
    assert role_of(tenants.member) == Role.MEMBER
    assert not events("tenancy.member.role_changed")


def test_admin_cannot_demote_an_owner(tenants):
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    with pytest.raises(AccessDeniedError):
        change_member_role(
            member_access(tenants.admin, reauthenticated=True), tenants.owner, "admin"
        )
    assert role_of(tenants.owner) == Role.OWNER


def test_owner_makes_someone_owner(tenants):
    change_member_role(member_access(tenants.owner, reauthenticated=True), tenants.admin, "owner")
    assert role_of(tenants.admin) == Role.OWNER
    assert only_event("tenancy.member.role_changed").data["to"] == "owner"


def test_last_owner_cannot_be_demoted_even_by_themselves(tenants):
    with pytest.raises(RuleViolationError, match="at least one owner"):
        change_member_role(
            member_access(tenants.owner, reauthenticated=True), tenants.owner, "admin"
        )
    assert role_of(tenants.owner) == Role.OWNER


def test_an_owner_may_step_down_when_another_owner_remains(tenants):
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    change_member_role(member_access(tenants.owner, reauthenticated=True), tenants.owner, "admin")
    assert role_of(tenants.owner) == Role.ADMIN
    assert only_event("tenancy.member.role_changed").actor == tenants.owner.user


def test_unknown_role_is_refused(tenants):
    with pytest.raises(TenancyError, match="roles offered"):
        change_member_role(
            member_access(tenants.owner, reauthenticated=True), tenants.member, "god"
        )


@pytest.mark.parametrize("role", ["member", "auditor"])
def test_roles_without_member_management_cannot_change_roles(tenants, role):
    with pytest.raises(AccessDeniedError):
        change_member_role(
            member_of(tenants.a, tenants.of_role(role).user, reauthenticated=True),
            tenants.admin,
            "member",
        )
    assert role_of(tenants.admin) == Role.ADMIN


def test_outsider_gets_no_access_to_change_roles_with(tenants):
    # An outsider never holds an Access to the organization: building one is refused, as
    # a 404 to the organization, before any domain function could be called with it.
    with pytest.raises(AccessDeniedError) as refused:
        member_of(tenants.a, tenants.outsider.user, reauthenticated=True)
    assert refused.value.reason == "not_member"
    assert refused.value.status == 404
    assert role_of(tenants.member) == Role.MEMBER


def test_membership_of_another_organization_is_not_found(tenants):
    with pytest.raises(NotFoundError):
        change_member_role(
            member_access(tenants.owner, reauthenticated=True), tenants.outsider, "member"
        )
    assert role_of(tenants.outsider) == Role.OWNER


def test_admin_removes_a_member_and_it_is_audited(tenants):
    remove_member(member_access(tenants.admin, reauthenticated=True), tenants.member)
    assert role_of(tenants.member) is None
    event = only_event("tenancy.member.removed")
    assert event.actor == tenants.admin.user
    assert event.organization == tenants.a
    assert event.data == {"user": tenants.member.user.public_id, "role": "member"}
    # Offboarding ran with it, each step audited.
    assert only_event("tenancy.offboarding.sessions_ended").target_id == (
        tenants.member.user.public_id
    )


def test_admin_cannot_remove_an_owner(tenants):
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    with pytest.raises(AccessDeniedError):
        remove_member(member_access(tenants.admin, reauthenticated=True), tenants.owner)
    assert role_of(tenants.owner) == Role.OWNER
    assert not events("tenancy.member.removed")


def test_owner_removes_another_owner(tenants):
    second = MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    remove_member(member_access(tenants.owner, reauthenticated=True), second)
    assert role_of(second) is None
    assert only_event("tenancy.member.removed").data == {
        "user": second.user.public_id,
        "role": "owner",
    }


def test_nobody_removes_themselves_through_removal(tenants):
    with pytest.raises(RuleViolationError, match="Leave"):
        remove_member(member_access(tenants.admin, reauthenticated=True), tenants.admin)
    assert role_of(tenants.admin) == Role.ADMIN


def test_member_leaves_and_it_is_audited(tenants):
    leave_organization(member_access(tenants.member, reauthenticated=True))
    assert role_of(tenants.member) is None
    event = only_event("tenancy.member.left")
    assert event.actor == tenants.member.user
    assert event.data == {"user": tenants.member.user.public_id, "role": "member"}


def test_last_owner_cannot_leave(tenants):
    with pytest.raises(RuleViolationError, match="last owner"):
        leave_organization(member_access(tenants.owner, reauthenticated=True))
    assert role_of(tenants.owner) == Role.OWNER
    assert not events("tenancy.member.left")


def test_owner_may_leave_when_another_owner_remains(tenants):
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    leave_organization(member_access(tenants.owner, reauthenticated=True))
    assert role_of(tenants.owner) is None
    assert only_event("tenancy.member.left").data["role"] == "owner"


def test_members_page_changes_a_role_and_shows_refusals(client, tenants):
    client.force_login(tenants.admin.user)
    reauthenticate(client)
    url = f"/o/alpha/members/{tenants.member.public_id}/role/"
    assert client.post(url, {"role": "auditor"}).status_code == 302
    assert role_of(tenants.member) == Role.AUDITOR

    refused = client.post(url, {"role": "owner"})
    assert refused.status_code == 403
    assert "Only an owner" in refused.content.decode()
    assert client.post(url, {"role": "nonsense"}).status_code == 400
    assert role_of(tenants.member) == Role.AUDITOR


def test_members_page_lists_members_of_this_organization_only(client, tenants):
    client.force_login(tenants.auditor.user)
    page = client.get("/o/alpha/members/").content.decode()
    for membership in (tenants.owner, tenants.admin, tenants.member, tenants.auditor):
        assert membership.user.email in page
    assert tenants.outsider.user.email not in page
    # An auditor sees members but no controls to change them.
    assert "Change role" not in page

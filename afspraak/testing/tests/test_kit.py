"""The shared test kit: its tenants, clock, access builders and audit assertions."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from afspraak.audit.trail import record
from afspraak.tenancy.access import AccessDeniedError, ActorKind
from afspraak.tenancy.roles import Permission, Role
from afspraak.testing.access import member_access, system_access
from afspraak.testing.audit import assert_audited, assert_not_audited
from afspraak.testing.clock import CLOCK_START

pytestmark = pytest.mark.django_db

DENIED = "tenancy.access.denied"


def test_tenants_have_one_member_of_each_role_and_an_outsider(tenants):
    assert {tenants.of_role(role).role for role in Role.values} == set(Role.values)
    assert {tenants.of_role(role).organization for role in Role.values} == {tenants.a}
    assert tenants.of_role("outsider").organization == tenants.b


def test_clock_stands_still_until_moved(clock):
    assert timezone.now() == CLOCK_START
    clock.move_to(CLOCK_START + timedelta(hours=1))
    assert timezone.now() == CLOCK_START + timedelta(hours=1)


class TestAnotherStart:
    @pytest.fixture
    def clock_start(self):
        return datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def test_a_module_can_start_the_clock_elsewhere(self, clock):
        assert timezone.now() == datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_member_access_carries_the_roles_permissions(tenants, auditor_access):
    assert auditor_access.has(Permission.VIEW_AUDIT_LOG)
    with pytest.raises(AccessDeniedError):
        auditor_access.require(Permission.HOST)
    with pytest.raises(AccessDeniedError):
        member_access(tenants.owner).require(Permission.MANAGE_SECURITY, reauthenticated=True)
    member_access(tenants.owner, reauthenticated=True).require(
        Permission.MANAGE_SECURITY, reauthenticated=True
    )


def test_system_access_may_do_everything(tenants):
    access = system_access(tenants.a)
    assert access.kind == ActorKind.SYSTEM
    assert all(access.has(permission) for permission in Permission)


def test_assert_audited_finds_the_one_matching_event(tenants):
    record(DENIED, actor=tenants.member.user, organization=tenants.a, data={"reason": "x", "n": 1})
    record(DENIED, actor=tenants.admin.user, organization=tenants.a, data={"reason": "y"})

    event = assert_audited(DENIED, actor=tenants.member.user, data={"reason": "x"})

    assert event.data == {"reason": "x", "n": 1}
    assert_not_audited(DENIED, actor=tenants.owner.user)


def test_assert_audited_fails_on_no_match_or_several(tenants):
    record(DENIED, organization=tenants.a, data={"reason": "x"})
    record(DENIED, organization=tenants.a, data={"reason": "x"})

    with pytest.raises(AssertionError, match="found 2"):
        assert_audited(DENIED, data={"reason": "x"})
    with pytest.raises(AssertionError, match="found 0"):
        assert_audited(DENIED, data={"reason": "z"})
    with pytest.raises(AssertionError, match="found 2"):
        assert_not_audited(DENIED)


def test_audit_assertions_refuse_a_code_not_in_the_catalogue():
    with pytest.raises(AssertionError, match="not an audit action"):
        assert_not_audited("tenancy.acess.denied")
    with pytest.raises(AssertionError, match="no field"):
        assert_not_audited(DENIED, who="nobody")

"""The staff gate: no customer data without agreement, current policy acknowledgement,
valid training and MFA (controls P1, P2, O4, O2), refused and audited like any refusal."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.compliance.models import PolicyVersion
from afspraak.compliance.standing import (
    AGREEMENT_MISSING,
    MFA_MISSING,
    POLICY_NOT_ACKNOWLEDGED,
    TRAINING_EXPIRED,
    TRAINING_MISSING,
    staff_gate,
    standing_refusal,
)
from afspraak.compliance.support import decide_support_grant, request_support_access
from afspraak.compliance.tests.staffing import DOCUMENT, staff_member
from afspraak.tenancy.access import access_for_support_grant
from afspraak.tenancy.roles import Permission
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited
from afspraak.testing.logins import log_in_with_second_factor


def _granted(tenants, staff):
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=8)
    return decide_support_grant(
        member_access(tenants.owner, reauthenticated=True), grant, approve=True
    )


def test_lapsed_training_refuses_the_support_page_with_403_and_audits_the_reason(
    client, tenants, clock
):
    staff = staff_member()
    _granted(tenants, staff)
    log_in_with_second_factor(client, staff)
    members = reverse("tenancy:members", args=["alpha"])
    assert client.get(members).status_code == 200

    # The training was completed 30 days ago; it lapses after 365 days, the grant after 8 h.
    staff.training_completions.update(completed_on=clock_today(clock) - timedelta(days=365))
    response = client.get(members)

    assert response.status_code == 403
    assert "training has expired" in response.content.decode()
    assert_audited(
        "tenancy.access.denied",
        actor=staff,
        organization=tenants.a,
        outcome="denied",
        data={"reason": TRAINING_EXPIRED, "permission": "can_view_members"},
    )


def clock_today(clock):
    return timezone.now().date()


@pytest.mark.parametrize(
    ("missing", "reason"),
    [
        ("agreement", AGREEMENT_MISSING),
        ("policy", POLICY_NOT_ACKNOWLEDGED),
        ("training", TRAINING_MISSING),
        ("mfa", MFA_MISSING),
    ],
)
def test_each_missing_element_shuts_the_gate(tenants, clock, missing, reason):
    staff = staff_member(missing=missing)
    grant = _granted(tenants, staff)
    access = access_for_support_grant(tenants.a, grant.public_id, AuditContext(actor=staff))

    assert standing_refusal(staff) == reason
    assert staff_gate(access, Permission.VIEW_MEMBERS) == reason
    assert not access.has(Permission.VIEW_MEMBERS)


def test_a_new_policy_version_needs_a_new_acknowledgement(tenants, clock):
    staff = staff_member()
    assert standing_refusal(staff) is None

    clock.shift(timedelta(minutes=1))
    PolicyVersion.objects.create(version="2", document_sha256=DOCUMENT)

    assert standing_refusal(staff) == POLICY_NOT_ACKNOWLEDGED


def test_training_counts_for_twelve_months(tenants, clock):
    today = clock_today(clock)
    fresh = staff_member(trained_on=today - timedelta(days=364))
    lapsed = staff_member(trained_on=today - timedelta(days=365))

    assert standing_refusal(fresh) is None
    assert standing_refusal(lapsed) == TRAINING_EXPIRED


def test_the_gate_leaves_members_alone(tenants):
    # A member's access is not a staff access: their organization's data is theirs.
    assert staff_gate(member_access(tenants.owner), Permission.VIEW_MEMBERS) is None


def test_an_ended_grant_shuts_the_gate_on_an_access_built_before(tenants, clock):
    staff = staff_member()
    grant = _granted(tenants, staff)
    access = access_for_support_grant(tenants.a, grant.public_id, AuditContext(actor=staff))
    assert access.has(Permission.VIEW_MEMBERS)

    clock.shift(timedelta(hours=8))

    assert not access.has(Permission.VIEW_MEMBERS)

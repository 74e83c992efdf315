"""Staff support access: asked, approved, read-only, audited in the customer's log, ended."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.audit.context import AuditContext
from afspraak.compliance.models import Approver, GrantState, SupportGrant, SupportPolicy
from afspraak.compliance.standing import NOT_STAFF, standing_refusal
from afspraak.compliance.support import (
    approver_of,
    decide_support_grant,
    decide_support_grant_as_staff,
    request_support_access,
)
from afspraak.compliance.tests.staffing import staff_member
from afspraak.errors import ConflictError, DomainError, ForbiddenError
from afspraak.tenancy.offboarding import deactivate_user
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited, events
from afspraak.testing.logins import log_in_with_second_factor


def _ask(client, organization, *, hours=2, reason="Ticket 4711: invitations bounce"):
    return client.post(
        reverse("compliance:staff_support"),
        {"organization": organization.slug, "reason": reason, "hours": hours},
    )


def _approve_as_owner(client, tenants, grant):
    client.force_login(tenants.owner.user)
    reauthenticate(client)
    return client.post(
        reverse("compliance:support_decide", args=[tenants.a.slug, grant.public_id]),
        {"decision": "approve"},
    )


def test_full_lifecycle_request_approve_read_audited_expire(client, tenants, clock):
    staff = staff_member()
    members = reverse("tenancy:members", args=[tenants.a.slug])
    log_in_with_second_factor(client, staff)
    assert client.get(members).status_code == 404

    assert _ask(client, tenants.a).status_code == 302
    grant = SupportGrant.objects.get(staff=staff)
    assert_audited(
        "compliance.support.requested", actor=staff, organization=tenants.a, data={"hours": 2}
    )
    # Asked is not approved.
    assert client.get(members).status_code == 404

    assert _approve_as_owner(client, tenants, grant).status_code == 302
    assert_audited("compliance.support.approved", actor=tenants.owner.user, organization=tenants.a)

    log_in_with_second_factor(client, staff)
    page = client.get(members)
    assert page.status_code == 200
    assert tenants.member.user.email in page.content.decode()
    # Read only: the page offers no change.
    assert "Invite someone" not in page.content.decode()
    assert_audited(
        "compliance.support.page_viewed",
        actor=staff,
        organization=tenants.a,
        data={"grant": grant.public_id, "path": members},
    )
    # The customer sees it in its own audit log.
    client.force_login(tenants.owner.user)
    log = client.get(reverse("tenancy:audit_log", args=[tenants.a.slug]))
    assert "compliance.support.page_viewed" in log.content.decode()

    clock.shift(timedelta(hours=2, seconds=1))
    log_in_with_second_factor(client, staff)
    assert client.get(members).status_code == 404


def test_owner_revokes_and_access_ends_at_once(client, tenants, clock):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="Ticket 5", hours=8)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    log_in_with_second_factor(client, staff)
    members = reverse("tenancy:members", args=[tenants.a.slug])
    assert client.get(members).status_code == 200

    client.force_login(tenants.owner.user)
    revoke = reverse("compliance:support_revoke", args=[tenants.a.slug, grant.public_id])
    assert client.get(revoke).status_code == 200
    assert client.post(revoke).status_code == 302

    log_in_with_second_factor(client, staff)
    assert client.get(members).status_code == 404
    assert_audited("compliance.support.revoked", actor=tenants.owner.user, organization=tenants.a)


def test_staff_member_ends_their_own_access(client, tenants, clock):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    log_in_with_second_factor(client, staff)

    response = client.post(reverse("compliance:staff_support_revoke", args=[grant.public_id]))

    assert response.status_code == 302
    grant.refresh_from_db()
    assert grant.state == GrantState.REVOKED
    assert client.get(reverse("tenancy:members", args=[tenants.a.slug])).status_code == 404
    assert_audited("compliance.support.revoked", actor=staff)


def test_deactivating_a_staff_member_ends_their_grants_and_requests(tenants, clock):
    staff = staff_member()
    active = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=4)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), active, approve=True)
    asked = request_support_access(AuditContext(actor=staff), tenants.b, reason="U", hours=1)
    # An earlier grant, over by itself: it keeps its history (approved, then expired).
    clock.shift(timedelta(hours=-9))
    over = request_support_access(AuditContext(actor=staff), tenants.b, reason="V", hours=1)
    decide_support_grant(member_access(tenants.outsider, reauthenticated=True), over, approve=True)
    clock.shift(timedelta(hours=9))
    security = AuditContext.system(staff_member(email="lead@staff.test"))

    deactivate_user(security, staff, reason="left the company")

    for grant in (active, asked):
        grant.refresh_from_db()
        assert grant.state == GrantState.REVOKED
        assert_audited(
            "compliance.support.revoked",
            actor=security.actor,
            organization=grant.organization,
            data={"grant": grant.public_id, "trigger": "user_deactivated"},
        )
    over.refresh_from_db()
    assert (over.state, over.revoked_at) == (GrantState.APPROVED, None)
    assert not over.is_active()
    # Its holder is refused by the gate itself too, grant or not: the account is inactive.
    assert standing_refusal(staff) == NOT_STAFF


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("tenancy:invite", "post"),
        ("tenancy:security_edit", "post"),
        ("tenancy:delete", "post"),
        ("tenancy:leave", "post"),
    ],
)
def test_a_support_grant_refuses_every_write(client, tenants, clock, name, method):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    log_in_with_second_factor(client, staff)

    response = client.post(reverse(name, args=[tenants.a.slug]), {"email": "x@example.test"})

    # Leaving names no permission: a member-only page, where staff are not members (404).
    assert response.status_code == (404 if name == "tenancy:leave" else 403)
    if name != "tenancy:leave":
        assert_audited(
            "tenancy.access.denied",
            actor=staff,
            organization=tenants.a,
            data={"reason": "permission"},
        )


def test_support_grant_opens_security_and_audit_log_but_not_another_organization(
    client, tenants, clock
):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    log_in_with_second_factor(client, staff)

    assert client.get(reverse("tenancy:security", args=["alpha"])).status_code == 200
    assert client.get(reverse("tenancy:audit_log", args=["alpha"])).status_code == 200
    assert client.get(reverse("tenancy:members", args=["beta"])).status_code == 404


def test_requests_longer_than_eight_hours_or_without_reason_are_refused(client, tenants):
    staff = staff_member()
    log_in_with_second_factor(client, staff)

    too_long = _ask(client, tenants.a, hours=9)
    no_reason = _ask(client, tenants.a, reason="  ")

    assert too_long.status_code == no_reason.status_code == 400
    assert "at most 8 hours" in too_long.content.decode()
    assert not SupportGrant.objects.exists()
    with pytest.raises(DomainError):
        request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=9)


def test_a_customer_cannot_ask_for_support_access(tenants):
    with pytest.raises(ForbiddenError):
        request_support_access(
            AuditContext(actor=tenants.owner.user), tenants.b, reason="T", hours=1
        )


def test_an_admin_cannot_approve_only_an_owner(tenants):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)

    with pytest.raises(ForbiddenError):
        decide_support_grant(
            member_access(tenants.admin, reauthenticated=True), grant, approve=True
        )
    grant.refresh_from_db()
    assert grant.state == GrantState.REQUESTED


def test_organization_choosing_staff_approval_needs_a_second_staff_member(client, tenants, clock):
    client.force_login(tenants.owner.user)
    reauthenticate(client)
    client.post(
        reverse("compliance:support_approver", args=[tenants.a.slug]), {"approver": "staff"}
    )
    assert SupportPolicy.objects.get(organization=tenants.a).approver == Approver.STAFF
    assert_audited("compliance.support.approver_changed", organization=tenants.a)
    staff, colleague = staff_member(), staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)

    with pytest.raises(ConflictError):
        decide_support_grant(
            member_access(tenants.owner, reauthenticated=True), grant, approve=True
        )
    log_in_with_second_factor(client, staff)
    decide = reverse("compliance:staff_support_decide", args=[grant.public_id])
    assert client.post(decide, {"decision": "approve"}).status_code == 403
    log_in_with_second_factor(client, colleague)
    assert client.post(decide, {"decision": "approve"}).status_code == 302

    assert_audited("compliance.support.approved", actor=colleague, organization=tenants.a)
    log_in_with_second_factor(client, staff)
    assert client.get(reverse("tenancy:members", args=["alpha"])).status_code == 200


def test_refused_request_opens_nothing(client, tenants, clock):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)

    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=False)

    assert_audited("compliance.support.denied", organization=tenants.a)
    log_in_with_second_factor(client, staff)
    assert client.get(reverse("tenancy:members", args=["alpha"])).status_code == 404
    with pytest.raises(ConflictError):
        decide_support_grant(
            member_access(tenants.owner, reauthenticated=True), grant, approve=True
        )


def test_owner_support_page_lists_requests_in_the_same_queries_however_many(client, tenants):
    client.force_login(tenants.owner.user)
    page = reverse("compliance:support_requests", args=["alpha"])

    def count_queries(requests: int) -> int:
        for _ in range(requests):
            request_support_access(
                AuditContext(actor=staff_member()), tenants.a, reason="T", hours=1
            )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(page)
        assert response.status_code == 200
        return len(queries)

    client.get(page)  # the session's first page pays for a few things once
    assert count_queries(1) == count_queries(5)
    assert client.get(page).content.decode().count('/decide/">Approve…</a>') == 6
    assert not events("compliance.support.page_viewed")


def test_an_active_grant_opens_nothing_to_a_password_only_session(client, tenants, clock):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    members = reverse("tenancy:members", args=["alpha"])

    client.force_login(staff)
    assert client.get(members).status_code == 404
    assert client.get(reverse("compliance:staff_support")).status_code == 403
    assert_audited(
        "compliance.staff_page.refused", data={"reason": "session_without_second_factor"}
    )
    log_in_with_second_factor(client, staff)
    assert client.get(members).status_code == 200


def test_a_colleague_out_of_standing_cannot_approve(client, tenants, clock):
    policy = SupportPolicy.objects.create(organization=tenants.a, approver=Approver.STAFF)
    assert approver_of(policy.organization) == Approver.STAFF
    staff, colleague = staff_member(), staff_member(missing="training")
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)

    with pytest.raises(ForbiddenError, match="cannot approve"):
        decide_support_grant_as_staff(AuditContext(actor=colleague), grant, approve=True)
    grant.refresh_from_db()
    assert grant.state == GrantState.REQUESTED


def test_a_waiting_request_follows_the_organizations_current_choice(tenants, clock):
    staff, colleague = staff_member(), staff_member()
    SupportPolicy.objects.create(organization=tenants.a, approver=Approver.STAFF)
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)
    # The owners take the decision back before a colleague acts on the request.
    SupportPolicy.objects.filter(organization=tenants.a).update(approver=Approver.OWNER)

    with pytest.raises(ConflictError, match="owners decide"):
        decide_support_grant_as_staff(AuditContext(actor=colleague), grant, approve=True)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    grant.refresh_from_db()
    assert grant.state == GrantState.APPROVED


def test_support_access_opens_pages_not_the_api(client, tenants, clock):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T", hours=1)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    log_in_with_second_factor(client, staff)

    assert client.get(reverse("tenancy:members", args=["alpha"])).status_code == 200
    assert client.get("/api/v1/organizations/alpha/members").status_code == 404


def test_owner_approves_through_a_confirmation_that_says_what_they_give(client, tenants):
    staff = staff_member(email="helper@afspraak.test")
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T 42", hours=3)
    decide = reverse("compliance:support_decide", args=[tenants.a.slug, grant.public_id])
    client.force_login(tenants.owner.user)
    page = client.get(reverse("compliance:support_requests", args=[tenants.a.slug])).content
    assert decide.encode() in page

    confirmation = client.get(decide).content.decode()
    for fact in ("helper@afspraak.test", "T 42", "for 3 hours", "Approve support access"):
        assert fact in confirmation
    assert 'name="decision" value="approve"' in confirmation
    assert SupportGrant.objects.get(pk=grant.pk).state == GrantState.REQUESTED

    assert _approve_as_owner(client, tenants, grant).status_code == 302
    # Decided: the confirmation says so and offers no button.
    again = client.get(decide).content.decode()
    assert "already decided" in again
    assert "Approve support access" not in again

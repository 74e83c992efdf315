"""Access reviews (O1): campaigns cover every elevated access, revocations apply at once,
overdue campaigns alert, a completed campaign's report is sealed."""

import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from afspraak.accounts.models import User
from afspraak.accounts.tests.signin import reauthenticate
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert
from afspraak.compliance.models import (
    GrantState,
    ReviewDecision,
    ReviewItem,
    ReviewItemKind,
    SupportGrant,
)
from afspraak.compliance.reviews import (
    OVERDUE_RULE,
    decide_review_item,
    decide_staff_review_item,
    is_campaign_due,
    is_report_intact,
    open_campaign,
    run_access_reviews,
)
from afspraak.compliance.tests.reviewing import campaign, security_reviewer
from afspraak.compliance.tests.staffing import staff_member
from afspraak.errors import ConflictError, ForbiddenError, NotFoundError
from afspraak.tenancy.api_tokens import create_api_token, revoke_api_token
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import ApiToken, ApiTokenScope, Membership
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited, events
from afspraak.testing.logins import log_in_with_second_factor


def _active_grant(tenants, staff):
    return SupportGrant.objects.create(
        organization=tenants.a,
        staff=staff,
        reason="Ticket 9",
        duration_minutes=120,
        approver="owner",
        state=GrantState.APPROVED,
        expires_at=timezone.now() + timedelta(hours=2),
    )


def _item(review, **filters):
    return review.items.get(**filters)


def test_campaign_covers_elevated_memberships_staff_and_active_grants(tenants):
    staff = staff_member()
    grant = _active_grant(tenants, staff)

    review = campaign()

    kinds = {(i.kind, i.subject_public_id) for i in review.items.all()}
    assert (ReviewItemKind.MEMBERSHIP, tenants.owner.public_id) in kinds
    assert (ReviewItemKind.MEMBERSHIP, tenants.admin.public_id) in kinds
    assert (ReviewItemKind.MEMBERSHIP, tenants.outsider.public_id) in kinds
    assert (ReviewItemKind.MEMBERSHIP, tenants.member.public_id) not in kinds
    assert (ReviewItemKind.MEMBERSHIP, tenants.auditor.public_id) not in kinds
    assert (ReviewItemKind.STAFF, staff.public_id) in kinds
    assert (ReviewItemKind.SUPPORT_GRANT, grant.public_id) in kinds
    assert_audited("compliance.access_review.opened", data={"items": len(kinds)})


def test_a_second_campaign_waits_for_the_first(tenants):
    campaign()
    with pytest.raises(ConflictError):
        campaign()


def test_owner_revoking_an_admin_demotes_them_at_once(tenants):
    review = campaign()
    item = _item(review, subject_public_id=tenants.admin.public_id)

    decide_review_item(member_access(tenants.owner, reauthenticated=True), item, confirm=False)

    with organization_context(tenants.a):
        assert Membership.objects.get(pk=tenants.admin.pk).role == Role.MEMBER
    assert_audited("tenancy.member.role_changed", organization=tenants.a)
    assert_audited(
        "compliance.access_review.revoked",
        actor=tenants.owner.user,
        organization=tenants.a,
        data={"subject": tenants.admin.public_id, "kind": "membership"},
    )


def test_owner_revoking_a_support_grant_ends_it(tenants):
    grant = _active_grant(tenants, staff_member())
    review = campaign()
    item = _item(review, subject_public_id=grant.public_id)

    decide_review_item(member_access(tenants.owner), item, confirm=False)

    grant.refresh_from_db()
    assert grant.state == GrantState.REVOKED
    assert_audited("compliance.support.revoked", organization=tenants.a)


def test_an_item_is_decided_once_and_only_by_its_organization(tenants):
    review = campaign()
    item = _item(review, subject_public_id=tenants.admin.public_id)
    with pytest.raises(NotFoundError):
        decide_review_item(member_access(tenants.outsider), item, confirm=True)
    decide_review_item(member_access(tenants.owner), item, confirm=True)
    assert_audited("compliance.access_review.confirmed", organization=tenants.a)
    with pytest.raises(ConflictError):
        decide_review_item(member_access(tenants.owner), item, confirm=False)


def test_security_reviewer_revokes_a_staff_account_at_once(tenants):
    reviewer = security_reviewer()
    staff = staff_member()
    review = campaign()
    item = _item(review, subject_public_id=staff.public_id)

    decide_staff_review_item(AuditContext.system(reviewer), item, confirm=False)

    staff.refresh_from_db()
    assert not staff.is_staff
    assert not staff.is_superuser
    assert_audited("compliance.access_review.revoked", actor=reviewer, data={"kind": "staff"})


def test_only_a_security_reviewer_and_never_for_themselves(tenants):
    reviewer = security_reviewer()
    # Staff (never a superuser unless asked), without the reviewer's permission.
    plain = staff_member()
    review = campaign()
    with pytest.raises(ForbiddenError):
        decide_staff_review_item(
            AuditContext.system(plain),
            _item(review, subject_public_id=reviewer.public_id),
            confirm=True,
        )
    with pytest.raises(ForbiddenError):
        decide_staff_review_item(
            AuditContext.system(reviewer),
            _item(review, subject_public_id=reviewer.public_id),
            confirm=True,
        )


def test_completed_campaign_has_a_sealed_report(tenants):
    reviewer = security_reviewer()
    other_reviewer = security_reviewer()
    review = campaign()
    owner = {tenants.a.pk: tenants.owner, tenants.b.pk: tenants.outsider}
    for item in review.items.exclude(kind=ReviewItemKind.STAFF):
        decide_review_item(member_access(owner[item.organization_id]), item, confirm=True)
    decide_staff_review_item(
        AuditContext.system(other_reviewer), _item(review, user=reviewer), confirm=True
    )
    review.refresh_from_db()
    assert review.completed_at is None
    decide_staff_review_item(
        AuditContext.system(reviewer), _item(review, user=other_reviewer), confirm=True
    )

    review.refresh_from_db()
    assert review.completed_at is not None
    assert len(review.report_sha256) == 64
    assert len(review.report_hmac) == 64
    assert is_report_intact(review)
    assert_audited("compliance.access_review.completed", data={"sha256": review.report_sha256})
    review.report = review.report.replace('"confirmed"', '"revoked"', 1)
    assert not is_report_intact(review)


def test_job_opens_a_campaign_each_quarter_and_alerts_when_overdue(tenants, clock):
    assert is_campaign_due()
    first = run_access_reviews()
    assert first is not None
    assert run_access_reviews() is None
    assert not Alert.objects.filter(rule_id=OVERDUE_RULE.id).exists()

    # Organization B's owner does their part in time; A's owner does not.
    for item in first.items.filter(organization=tenants.b):
        decide_review_item(member_access(tenants.outsider), item, confirm=True)
    clock.shift(timedelta(days=15))
    run_access_reviews()
    alerts = {a.subject: a for a in Alert.objects.filter(rule_id=OVERDUE_RULE.id)}
    assert set(alerts) == {first.public_id, f"{first.public_id}:{tenants.a.public_id}"}
    assert alerts[f"{first.public_id}:{tenants.a.public_id}"].organization_public_id == (
        tenants.a.public_id
    )
    assert len(events("audit.alert.raised")) == 2


@override_settings(AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS=91)
def test_next_campaign_opens_after_the_interval(tenants, clock):
    review = campaign()
    review.items.update(decision=ReviewDecision.CONFIRMED)
    review.completed_at = review.opened_at
    review.save()
    clock.shift(timedelta(days=90))
    assert not is_campaign_due()
    clock.shift(timedelta(days=1))
    assert is_campaign_due()


def test_an_interval_over_six_months_is_refused():
    environment = {**os.environ, "AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS": "184"}
    result = subprocess.run(
        [sys.executable, "-c", "import afspraak.settings"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "AFSPRAAK_ACCESS_REVIEW_INTERVAL_DAYS must be at most 183" in result.stderr


def test_owner_page_lists_and_revokes_after_confirmation(client, tenants):
    review = campaign()
    item = _item(review, subject_public_id=tenants.admin.public_id)
    client.force_login(tenants.owner.user)
    page = client.get(reverse("compliance:access_review", args=[tenants.a.slug]))
    assert page.status_code == 200
    assert "admin@a.test" in page.content.decode()
    assert "owner@b.test" not in page.content.decode()

    url = reverse("compliance:access_review_revoke", args=[tenants.a.slug, item.public_id])
    assert "Revoke access" in client.get(url).content.decode()
    reauthenticate(client)
    assert client.post(url).status_code == 302
    item.refresh_from_db()
    assert item.decision == ReviewDecision.REVOKED


def test_staff_page_lets_the_reviewer_confirm(client, tenants):
    reviewer = security_reviewer()
    staff = staff_member()
    review = campaign()
    item = _item(review, user=staff)
    log_in_with_second_factor(client, reviewer)
    page = client.get(reverse("compliance:staff_access_review"))
    assert staff.email in page.content.decode()
    response = client.post(reverse("compliance:staff_access_review_confirm", args=[item.public_id]))
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.decision == ReviewDecision.CONFIRMED
    assert User.objects.get(pk=staff.pk).is_staff


def test_command_opens_lists_and_verifies(tenants):
    out = StringIO()
    call_command("access-review", "start", stdout=out)
    review = open_campaign()
    assert review is not None
    assert f"opened {review.public_id}" in out.getvalue()
    call_command("access-review", "status", stdout=out)
    assert "pending" in out.getvalue()
    with pytest.raises(CommandError, match="no completed campaign"):
        call_command("access-review", "verify", review.public_id)


def _token(membership, scope):
    access = member_access(membership, reauthenticated=True)
    return create_api_token(access, name="Sync", scope=scope)[0]


def test_campaign_covers_every_active_api_token_read_only_ones_too(tenants, clock):
    elevated = _token(tenants.admin, ApiTokenScope.ROLE)
    read_only = _token(tenants.auditor, ApiTokenScope.READ)
    hosting = _token(tenants.member, ApiTokenScope.ROLE)
    revoked = _token(tenants.owner, ApiTokenScope.ROLE)
    revoke_api_token(member_access(tenants.owner), revoked)
    expiring = create_api_token(
        member_access(tenants.owner, reauthenticated=True),
        name="Short",
        scope=ApiTokenScope.READ,
        lifetime_days=1,
    )[0]
    clock.shift(timedelta(days=2))

    review = campaign()

    tokens = {i.subject_public_id for i in review.items.filter(kind=ReviewItemKind.API_TOKEN)}
    assert tokens == {elevated.public_id, read_only.public_id, hosting.public_id}
    assert {revoked.public_id, expiring.public_id}.isdisjoint(tokens)
    item = _item(review, subject_public_id=read_only.public_id)
    assert item.user == tenants.auditor.user
    assert item.organization == tenants.a
    assert read_only.prefix in item.access
    assert "read only" in item.access


def test_a_tokens_long_name_is_shortened_to_fit_the_review(tenants):
    access = member_access(tenants.admin, reauthenticated=True)
    token = create_api_token(access, name="N" * 80, scope=ApiTokenScope.ROLE)[0]

    item = _item(campaign(), subject_public_id=token.public_id)

    # PostgreSQL refuses a longer value: the whole campaign would fail to open.
    assert len(item.access) <= (ReviewItem._meta.get_field("access").max_length or 0)
    assert item.access.startswith("API token “NNN")
    assert "…”" in item.access
    assert token.prefix in item.access


def test_owner_page_says_what_each_token_may_do(client, tenants):
    _token(tenants.admin, ApiTokenScope.READ)
    _token(tenants.auditor, ApiTokenScope.READ)
    _token(tenants.member, ApiTokenScope.ROLE)
    campaign()
    client.force_login(tenants.owner.user)

    page = client.get(reverse("compliance:access_review", args=[tenants.a.slug])).content.decode()

    assert (
        "Can read the members, read every booking, read the security settings, "
        "read the audit log." in page
    )
    # Narrowed to the auditor's role, which reads no bookings.
    assert "Can read the members, read the security settings, read the audit log." in page
    assert "Can host meetings." in page


def test_owner_revoking_an_api_token_revokes_it_at_once(tenants):
    token = _token(tenants.admin, ApiTokenScope.ROLE)
    review = campaign()
    item = _item(review, subject_public_id=token.public_id)

    decide_review_item(member_access(tenants.owner), item, confirm=False)

    with organization_context(tenants.a):
        assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert_audited(
        "tenancy.api_token.revoked",
        actor=tenants.owner.user,
        data={"credential": token.public_id, "trigger": "access_review"},
    )
    assert_audited(
        "compliance.access_review.revoked", data={"subject": token.public_id, "kind": "api_token"}
    )

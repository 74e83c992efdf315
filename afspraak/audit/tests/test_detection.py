"""Detection rules fire on their scenario, group their repeats, and stay quiet on a normal day."""

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from afspraak.accounts.login_identity import login_identity
from afspraak.audit.alerts import organization_contacts, overdue_alerts
from afspraak.audit.context import AuditContext
from afspraak.audit.detection import PRIVILEGED_ROLES, RULES, evaluate, run_sweep
from afspraak.audit.models import Alert, AlertStatus, AuditEvent, Outcome
from afspraak.audit.outbox import deliver_due
from afspraak.audit.tests.normal_day import replay_normal_day
from afspraak.audit.tests.test_chain import raw
from afspraak.audit.trail import record
from afspraak.compliance.support import decide_support_grant, request_support_access
from afspraak.compliance.tests.staffing import staff_member
from afspraak.tenancy.membership import change_member_role
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited, events
from afspraak.testing.factories import MembershipFactory, UserFactory
from afspraak.testing.logins import log_in_with_second_factor

pytestmark = pytest.mark.django_db

ATTACKER = "192.0.2.66"
CONTACTS = ["soc@operator.test", "oncall@operator.test"]


@pytest.fixture(autouse=True)
def _contacts(settings):
    settings.AFSPRAAK_SECURITY_CONTACTS = CONTACTS


def _from(address: str) -> AuditContext:
    return AuditContext(ip_address=address, user_agent="python-requests")


def _failed_login(user, address: str = ATTACKER, *, tried: str = "") -> None:
    """Record a failed login from ``address`` for ``user``, or for the unknown ``tried``."""
    record(
        "accounts.login.failed",
        context=_from(address),
        outcome=Outcome.FAILURE,
        target=user,
        data={
            "known_account": user is not None,
            "reason": "invalid_credentials",
            "identity": login_identity(user.email if user is not None else tried),
        },
    )


def deliver_all() -> None:
    """Run the outbox until it is empty: alerts leave e-mails the next run delivers."""
    while deliver_due():
        pass


def _alerts(rule_id: str) -> list[Alert]:
    return list(Alert.objects.filter(rule_id=rule_id))


def test_brute_force_on_one_account_raises_one_alert_and_one_email(tenants, clock):
    victim = tenants.member.user
    for attempt in range(settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES):
        clock.shift(timedelta(seconds=30))
        _failed_login(victim, f"192.0.2.{attempt}")
    deliver_all()

    [alert] = _alerts("afspraak-brute-force-account")
    assert alert.subject == f"account:{victim.public_id}"
    assert alert.severity == "high"
    assert alert.status == AlertStatus.OPEN
    failures = events("accounts.login.failed")
    assert alert.evidence == [event.pk for event in failures]
    assert_audited("audit.alert.raised", data={"rule": "afspraak-brute-force-account"})
    [email] = mail.outbox
    assert email.to == CONTACTS
    assert "Brute force on one account" in email.subject
    assert alert.public_id in email.body


def test_failures_below_the_threshold_or_spread_out_raise_nothing(tenants, clock):
    victim = tenants.member.user
    for _ in range(settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES):
        # One every window: never enough inside one.
        clock.shift(timedelta(minutes=settings.AFSPRAAK_DETECT_WINDOW_MINUTES))
        _failed_login(victim)
    deliver_all()

    assert not Alert.objects.exists()


def test_repeats_join_the_open_alert_and_are_not_emailed_again(tenants, clock):
    victim = tenants.member.user
    for _ in range(settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES + 3):
        clock.shift(timedelta(seconds=20))
        _failed_login(victim)
        deliver_all()  # each failure detected as it comes

    [alert] = _alerts("afspraak-brute-force-account")
    assert alert.firings == 4
    assert len(alert.evidence) == settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES + 3
    assert len(events("audit.alert.grouped")) == 3
    # One e-mail for the brute force; the same address also tried one account only.
    assert len(mail.outbox) == 1


def test_a_redelivered_event_changes_nothing(tenants, clock):
    victim = tenants.member.user
    for _ in range(settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES):
        _failed_login(victim)
    deliver_all()

    evaluate(AuditEvent.objects.filter(action="accounts.login.failed").latest("id"))

    [alert] = _alerts("afspraak-brute-force-account")
    assert alert.firings == 1
    assert not events("audit.alert.grouped")


def test_a_firing_after_the_alert_was_closed_opens_a_new_one(tenants, clock):
    victim = tenants.member.user
    for _ in range(settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES):
        _failed_login(victim)
    deliver_all()
    Alert.objects.update(status=AlertStatus.CLOSED)

    clock.shift(timedelta(minutes=1))
    _failed_login(victim)
    deliver_all()

    assert len(_alerts("afspraak-brute-force-account")) == 2
    assert len(mail.outbox) == 2


def test_credential_stuffing_from_one_address_across_accounts(tenants, clock):
    accounts = UserFactory.create_batch(settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS - 1)
    for user in accounts:
        clock.shift(timedelta(seconds=5))
        _failed_login(user)
    _failed_login(None, tried="nobody@example.test")  # an address with no account counts too
    deliver_all()

    [alert] = _alerts("afspraak-credential-stuffing")
    assert alert.subject == f"source:{ATTACKER}"
    assert len(alert.evidence) == settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS
    assert not _alerts("afspraak-brute-force-account")


def test_credential_stuffing_with_addresses_that_have_no_account(tenants, clock):
    for number in range(settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS):
        clock.shift(timedelta(seconds=5))
        _failed_login(None, tried=f"guess{number}@example.test")
    deliver_all()

    [alert] = _alerts("afspraak-credential-stuffing")
    assert alert.subject == f"source:{ATTACKER}"
    assert len(alert.evidence) == settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS


def test_one_person_mistyping_their_own_unknown_address_is_one_identity(tenants, clock):
    # Below the brute-force threshold, so only the stuffing rule could mistake it.
    for _ in range(settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS + 1):
        clock.shift(timedelta(seconds=20))
        _failed_login(None, tried="my.old.address@example.test")
    deliver_all()

    assert len(events("accounts.login.failed")) == settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS + 1
    assert not Alert.objects.exists()


def test_one_person_mistyping_their_password_many_times_is_one_identity(tenants, clock):
    victim = tenants.member.user
    for _ in range(settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS + 1):
        clock.shift(timedelta(seconds=20))
        _failed_login(victim)
    deliver_all()

    assert not _alerts("afspraak-credential-stuffing")


def test_mfa_failure_burst(tenants, clock):
    user = tenants.owner.user
    for _ in range(settings.AFSPRAAK_DETECT_MFA_FAILURES):
        clock.shift(timedelta(seconds=10))
        record(
            "accounts.mfa.failed",
            context=_from(ATTACKER),
            outcome=Outcome.FAILURE,
            target=user,
            data={"authenticator_type": "totp", "authenticator_id": "1"},
        )
    deliver_all()

    [alert] = _alerts("afspraak-mfa-failure-burst")
    assert alert.subject == f"account:{user.public_id}"


def test_login_after_lockout(tenants, clock):
    user = tenants.member.user
    record(
        "accounts.login.locked_out",
        context=_from(ATTACKER),
        outcome=Outcome.DENIED,
        target=user,
        data={"known_account": True, "failures": 10},
    )
    clock.shift(timedelta(hours=2))
    record(
        "accounts.login.succeeded",
        context=_from("203.0.113.9").acting_as(user),
        target=user,
        data={"methods": ["password"]},
    )
    deliver_all()

    [alert] = _alerts("afspraak-login-after-lockout")
    assert len(alert.evidence) == 2


def test_login_long_after_a_lockout_is_quiet(tenants, clock):
    user = tenants.member.user
    record(
        "accounts.login.locked_out",
        context=_from(ATTACKER),
        outcome=Outcome.DENIED,
        target=user,
        data={"known_account": True, "failures": 10},
    )
    clock.shift(timedelta(hours=settings.AFSPRAAK_DETECT_LOCKOUT_HOURS + 1))
    record("accounts.login.succeeded", context=AuditContext(actor=user), target=user)
    deliver_all()

    assert not Alert.objects.exists()


def test_making_someone_admin_alerts_the_operator_and_the_organization(tenants, clock):
    change_member_role(
        member_access(tenants.owner, reauthenticated=True), tenants.member, Role.ADMIN
    )
    deliver_all()

    [alert] = _alerts("afspraak-privilege-escalation")
    assert alert.organization_public_id == tenants.a.public_id
    assert alert.subject == f"member:{tenants.member.user.public_id}"
    [change] = events("tenancy.member.role_changed")
    assert alert.evidence == [change.pk]
    recipients = sorted(tuple(email.to) for email in mail.outbox)
    # The operator's team, and A's owner and admins (the member just made admin among them).
    assert recipients == sorted(
        [tuple(CONTACTS), ("admin@a.test", "member@a.test", "owner@a.test")]
    )


def test_the_rule_names_the_privileged_roles_of_tenancy():
    assert set(PRIVILEGED_ROLES) == {Role.OWNER.value, Role.ADMIN.value}


def test_mass_deletion_by_one_actor(tenants, clock):
    owner = AuditContext(actor=tenants.owner.user)
    for index in range(settings.AFSPRAAK_DETECT_DELETIONS):
        clock.shift(timedelta(seconds=15))
        action = "scheduling.meeting_type.deleted" if index % 2 else "scheduling.schedule.deleted"
        record(action, context=owner, organization=tenants.a)
    deliver_all()

    [alert] = _alerts("afspraak-mass-deletion")
    assert alert.subject == f"actor:{tenants.owner.user.public_id}"
    assert alert.organization_public_id == tenants.a.public_id
    assert len(alert.evidence) == settings.AFSPRAAK_DETECT_DELETIONS


@pytest.mark.parametrize(
    ("action", "rule_id"),
    [
        ("backups.backup.failed", "afspraak-backup-failure"),
        ("backups.restore.failed", "afspraak-backup-failure"),
        ("backups.prune.failed", "afspraak-backup-failure"),
        ("backups.drill.failed", "afspraak-backup-failure"),
        ("crypto.master_key.unavailable", "afspraak-key-unavailable"),
        ("crypto.keyset.missing", "afspraak-key-unavailable"),
    ],
)
def test_single_failure_events_alert_at_once(db, action, rule_id):
    record(action, context=AuditContext.system(), outcome=Outcome.FAILURE, data={"error": "X"})
    deliver_all()

    [alert] = _alerts(rule_id)
    assert alert.subject.endswith(action)


def test_a_key_rotation_that_never_finished_is_found_by_the_sweep(tenants, clock):
    record(
        "crypto.org_key.rotation_started",
        context=AuditContext.system(),
        organization=tenants.a,
        data={"new_key_id": 2},
    )
    record(
        "crypto.org_index_key.rotation_started",
        context=AuditContext.system(),
        organization=tenants.b,
        data={"new_key_id": 2},
    )
    clock.shift(timedelta(hours=1))
    record(
        "crypto.org_index_key.rotated",
        context=AuditContext.system(),
        organization=tenants.b,
        data={"new_key_id": 2},
    )
    assert run_sweep("afspraak-key-rotation-failure") == []  # not late yet

    clock.shift(timedelta(hours=settings.AFSPRAAK_DETECT_ROTATION_HOURS))
    run_sweep("afspraak-key-rotation-failure")
    run_sweep("afspraak-key-rotation-failure")  # the next hour's sweep: grouped

    [alert] = _alerts("afspraak-key-rotation-failure")
    assert alert.organization_public_id == tenants.a.public_id
    assert alert.firings == 1


def test_a_broken_audit_chain_raises_a_critical_alert(tenants, clock):
    record("accounts.logout", context=AuditContext(actor=tenants.owner.user))
    deliver_all()
    assert run_sweep("afspraak-audit-chain-break") == []

    # Someone with database access edits an event behind the ORM's back.
    raw(
        "UPDATE audit_auditevent SET outcome = %s WHERE action = %s", ["failure", "accounts.logout"]
    )
    run_sweep("afspraak-audit-chain-break")

    [alert] = _alerts("afspraak-audit-chain-break")
    assert alert.severity == "critical"
    assert "was changed (edited)" in alert.detail
    assert alert.evidence == []


def test_a_normal_day_raises_no_alert(tenants, clock):
    replayed = replay_normal_day(clock, tenants)
    deliver_all()

    assert replayed > 50
    assert not Alert.objects.exists(), list(Alert.objects.values_list("rule_id", "subject"))
    assert mail.outbox == []


def test_overdue_alerts_are_listed_and_escalated_once(tenants, clock):
    record("backups.backup.failed", context=AuditContext.system(), outcome=Outcome.FAILURE)
    deliver_all()
    mail.outbox.clear()
    assert overdue_alerts() == []

    clock.shift(timedelta(hours=4, minutes=1))  # a high alert's deadline
    output = _call("alerts", "overdue")
    [alert] = overdue_alerts()
    assert alert.public_id in output
    _call("alerts", "escalate")
    _call("alerts", "escalate")
    deliver_all()

    [email] = mail.outbox
    assert email.to == CONTACTS
    assert "OVERDUE" in email.subject
    assert_audited("audit.alert.escalated", target_id=alert.public_id)


def _call(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_every_rule_is_described_in_the_detection_page():
    page = (Path(settings.BASE_DIR) / "docs/security/detection.md").read_text()
    documented = set(re.findall(r"^id: (\S+)$", page, flags=re.MULTILINE))
    assert documented == {rule.id for rule in RULES}
    for rule in RULES:
        assert all((rule.title, rule.condition, rule.falsepositives, rule.logsource))
        assert (rule.evaluate is None) != (rule.sweep is None)


def test_the_same_person_made_admin_in_two_organizations_alerts_each(tenants, clock):
    both = tenants.member.user
    in_b = MembershipFactory.create(organization=tenants.b, user=both, role=Role.MEMBER)
    change_member_role(member_access(tenants.owner, reauthenticated=True), tenants.member, "admin")
    change_member_role(member_access(tenants.outsider, reauthenticated=True), in_b, "admin")
    deliver_all()

    alerts = _alerts("afspraak-privilege-escalation")
    assert sorted(a.organization_public_id for a in alerts) == sorted(
        [tenants.a.public_id, tenants.b.public_id]
    )
    # B's owner hears of B's change, not only A's owners of A's.
    assert any("owner@b.test" in email.to for email in mail.outbox)


def test_staff_support_pages_raise_one_low_alert_per_grant_told_to_the_organization(
    client, tenants, clock
):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T 7", hours=2)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    deliver_all()
    mail.outbox.clear()
    log_in_with_second_factor(client, staff)
    for name in ("tenancy:members", "tenancy:audit_log", "tenancy:members"):
        clock.shift(timedelta(minutes=2))
        assert client.get(reverse(name, args=[tenants.a.slug])).status_code == 200
        deliver_all()

    [alert] = _alerts("afspraak-staff-customer-access")
    assert alert.severity == "low"
    assert alert.subject == f"support-grant:{grant.public_id}"
    assert alert.organization_public_id == tenants.a.public_id
    views = events("compliance.support.page_viewed")
    assert len(views) == 3
    assert alert.evidence == [view.pk for view in views]
    assert alert.firings == 3
    # Told once, to the operator's team and to A's owners and admins.
    assert sorted(tuple(email.to) for email in mail.outbox) == sorted(
        [tuple(CONTACTS), ("admin@a.test", "owner@a.test")]
    )


def test_staff_refused_a_write_through_a_grant_raises_a_high_alert(client, tenants, clock):
    staff = staff_member()
    grant = request_support_access(AuditContext(actor=staff), tenants.a, reason="T 8", hours=2)
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    log_in_with_second_factor(client, staff)

    invite = client.post(reverse("tenancy:invite", args=[tenants.a.slug]), {"email": "x@b.test"})
    deliver_all()

    assert invite.status_code == 403
    [alert] = _alerts("afspraak-staff-customer-access")
    assert (alert.severity, alert.subject) == ("high", f"staff:{staff.public_id}")
    assert alert.organization_public_id == tenants.a.public_id
    assert alert.detail == "refused: permission"
    [refusal] = events("tenancy.access.denied")
    assert alert.evidence == [refusal.pk]


def test_staff_reaching_an_organization_without_a_grant_raises_a_high_alert(client, tenants, clock):
    staff = staff_member(is_superuser=True, is_staff=False)
    log_in_with_second_factor(client, staff)

    for _ in range(2):
        assert client.get(reverse("tenancy:members", args=[tenants.b.slug])).status_code == 404
    deliver_all()

    [alert] = _alerts("afspraak-staff-customer-access")
    assert (alert.severity, alert.subject) == ("high", f"staff:{staff.public_id}")
    # The outsider's refusal stays out of B's log, yet B's owners hear of it.
    assert alert.organization_public_id == tenants.b.public_id
    assert alert.detail == "refused: not_member"
    assert len(alert.evidence) == 2
    assert sorted(tuple(email.to) for email in mail.outbox) == sorted(
        [tuple(CONTACTS), tuple(organization_contacts(tenants.b.public_id))]
    )


def test_a_member_refused_a_page_is_not_staff_access(client, tenants):
    client.force_login(tenants.member.user)

    assert client.post(reverse("tenancy:invite", args=[tenants.a.slug])).status_code == 403
    client.force_login(tenants.outsider.user)
    assert client.get(reverse("tenancy:members", args=[tenants.a.slug])).status_code == 404
    deliver_all()

    assert len(events("tenancy.access.denied")) == 2
    assert not _alerts("afspraak-staff-customer-access")

"""The trust page: every figure is read from the system, cached, and changes with its fact."""

from datetime import timedelta

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from tink import aead

from afspraak.audit.context import AuditContext
from afspraak.audit.models import AuditEvent, Outcome
from afspraak.audit.trail import record
from afspraak.compliance import trust
from afspraak.compliance.models import ReviewCampaign
from afspraak.compliance.pentests import record_engagement, record_finding
from afspraak.compliance.subprocessors import add_subprocessor
from afspraak.compliance.tests.staffing import give_mfa, staff_member
from afspraak.compliance.trust import (
    TRUST_CACHE_KEY,
    cached_trust_figures,
    encryption_at_rest,
    refresh_trust_figures,
    tls_floor,
)
from afspraak.crypto.models import KeysetPurpose
from afspraak.testing.factories import StaffUserFactory


def _page(client) -> str:
    response = client.get(reverse("compliance:trust"))
    assert response.status_code == 200
    return response.content.decode()


def test_tls_floor_comes_from_the_servers_openssl_configuration(settings, tmp_path):
    assert tls_floor() == "TLS 1.2"
    configuration = tmp_path / "openssl.cnf"
    configuration.write_text("[x]\nMinProtocol = TLSv1.3\n")
    settings.AFSPRAAK_OPENSSL_CONF = configuration
    assert tls_floor() == "TLS 1.3"


def test_the_page_is_served_from_the_cache_until_the_job_refreshes_it(client, db):
    cache.delete(TRUST_CACHE_KEY)
    staff_member()
    page = _page(client)
    assert "None recorded" in page
    assert "1 of 1 (100%)" in page

    # A fact changes: the cached page does not show it yet...
    StaffUserFactory.create()
    engagement = record_engagement(
        AuditContext.system(),
        firm="ROS",
        performed_on=timezone.now().date() - timedelta(days=3),
        scope="Web",
        report_sha256="ab" * 32,
    )
    record_finding(AuditContext.system(), engagement, title="IDOR", severity="high")
    assert "1 of 1 (100%)" in _page(client)

    # ...the refresh job reads it.
    refresh_trust_figures()
    page = _page(client)
    assert "1 of 2 (50%)" in page
    assert engagement.performed_on.strftime("%-d %B %Y") in page
    assert "High: 1" in page
    assert "IDOR" not in page


def test_backups_and_drills_are_read_from_the_audit_trail(db):
    cache.delete(TRUST_CACHE_KEY)
    figures = cached_trust_figures()
    assert figures.last_backup_at is None
    assert figures.last_drill_passed is None

    record("backups.backup.completed", context=AuditContext.system())
    figures = refresh_trust_figures()
    assert figures.last_backup_at is not None
    assert figures.last_drill_at is None


def test_mfa_coverage_counts_staff_only(db, tenants):
    user = StaffUserFactory.create()
    assert refresh_trust_figures().staff_with_mfa == 0
    give_mfa(user)
    figures = refresh_trust_figures()
    assert (figures.staff_with_mfa, figures.staff_total) == (1, 1)


def test_the_last_restore_drill_result_is_shown(client, db):
    # The backups app records its drills under these codes; written here as it would.
    AuditEvent.objects.create(action="backups.drill.passed", outcome=Outcome.SUCCESS)
    assert refresh_trust_figures().last_drill_passed is True
    AuditEvent.objects.create(action="backups.drill.failed", outcome=Outcome.FAILURE)
    figures = refresh_trust_figures()
    assert figures.last_drill_passed is False
    assert "Failed on" in _page(client)


def test_the_last_drills_rto_is_the_slowest_locations_and_follows_the_newest_drill(client, db):
    cache.delete(TRUST_CACHE_KEY)
    AuditEvent.objects.create(
        action="backups.drill.passed",
        outcome=Outcome.SUCCESS,
        data={
            "engine": "sqlite",
            "locations": {
                "primary": {"rto_seconds": 1.25, "rpo_seconds": 60, "problems": []},
                "second": {"rto_seconds": 3.5, "rpo_seconds": 60, "problems": []},
            },
        },
    )
    assert refresh_trust_figures().last_drill_rto_seconds == 3.5
    assert "checked in 3.5 seconds (RTO)" in _page(client)

    # A newer drill that could not restore anything has no RTO: none is shown.
    AuditEvent.objects.create(
        action="backups.drill.failed",
        outcome=Outcome.FAILURE,
        data={"engine": "sqlite", "locations": {"second": {"backup": None, "problems": ["x"]}}},
    )
    assert refresh_trust_figures().last_drill_rto_seconds is None
    assert "(RTO)" not in _page(client)

    AuditEvent.objects.create(
        action="backups.drill.passed",
        outcome=Outcome.SUCCESS,
        data={"engine": "sqlite", "locations": {"primary": {"rto_seconds": 12}}},
    )
    refresh_trust_figures()
    assert "checked in 12 seconds (RTO)" in _page(client)


def test_the_last_security_audit_shows_counts_and_date_not_check_names(client, db, clock):
    cache.delete(TRUST_CACHE_KEY)
    refresh_trust_figures()
    assert "Last daily security audit</strong></dt>\n    <dd>None recorded" in _page(client)

    record(
        "posture.audit.completed",
        context=AuditContext.system(),
        outcome=Outcome.FAILURE,
        data={"passed": ["tls-floor", "hsts", "csp"], "failed": ["security-txt"]},
    )
    figures = refresh_trust_figures()
    assert (figures.security_checks_passed, figures.security_checks_failed) == (3, 1)
    page = _page(client)
    assert f"3 checks passed, 1 failed on {timezone.now():%-d %B %Y}" in page
    assert "security-txt" not in page

    clock.shift(timedelta(days=1))
    record(
        "posture.audit.completed",
        context=AuditContext.system(),
        data={"passed": ["tls-floor", "hsts", "csp", "security-txt"], "failed": []},
    )
    refresh_trust_figures()
    assert f"4 checks passed, 0 failed on {timezone.now():%-d %B %Y}" in _page(client)


def test_encryption_at_rest_is_read_from_the_organizations_data_key_template(monkeypatch):
    assert encryption_at_rest() == "AES-256-GCM, a separate key for each organization"
    weaker = dict(trust.TEMPLATES) | {KeysetPurpose.DATA: aead.aead_key_templates.AES128_GCM}
    monkeypatch.setattr(trust, "TEMPLATES", weaker)
    assert encryption_at_rest() == "AES-128-GCM, a separate key for each organization"
    other = weaker | {KeysetPurpose.DATA: aead.aead_key_templates.XCHACHA20_POLY1305}
    monkeypatch.setattr(trust, "TEMPLATES", other)
    assert encryption_at_rest() == "unknown"


def test_the_last_completed_access_review_is_shown(db, clock):
    assert refresh_trust_figures().last_access_review_at is None
    now = timezone.now()
    ReviewCampaign.objects.create(due_at=now + timedelta(days=14))
    assert refresh_trust_figures().last_access_review_at is None

    done = ReviewCampaign.objects.create(due_at=now, completed_at=now - timedelta(days=2))
    assert refresh_trust_figures().last_access_review_at == done.completed_at


def test_subprocessors_count_once_they_are_in_effect(db, clock):
    today = timezone.now().date()
    # Customers hear of a new subprocessor 30 days before it takes effect.
    for name, days in (("Mailer", 30), ("Later", 60)):
        add_subprocessor(
            AuditContext.system(),
            name=name,
            purpose="E-mail delivery",
            data_categories="e-mail addresses",
            location="EU",
            agreement_signed_on=today,
            document_sha256="ab" * 32,
            effective_on=today + timedelta(days=days),
        )
    assert refresh_trust_figures().subprocessors == 0
    clock.move_to(timezone.now() + timedelta(days=30))
    assert refresh_trust_figures().subprocessors == 1
    clock.move_to(timezone.now() + timedelta(days=30))
    assert refresh_trust_figures().subprocessors == 2

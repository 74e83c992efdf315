"""Backups fresh, the last restore drill passed, staff second factors, a pentest this year."""

import sqlite3
from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record
from afspraak.backups.backup import run_backup
from afspraak.compliance.pentests import record_engagement
from afspraak.posture.operations import (
    DRILL_FAILED,
    DRILL_PASSED,
    check_backups_fresh,
    check_recent_pentest,
    check_restore_drill,
    check_staff_mfa,
)
from afspraak.posture.results import Status
from afspraak.testing.factories import StaffUserFactory, UserFactory


@pytest.fixture
def backup_locations(settings, tmp_path):
    """Point the backups at two empty directories of the test (and a job queue file)."""
    settings.AFSPRAAK_BACKUP_DIR = tmp_path / "primary"
    settings.AFSPRAAK_BACKUP_SECOND_LOCATION = str(tmp_path / "second")
    settings.AFSPRAAK_BACKUP_KEYSET_FILE = tmp_path / "keys" / "backup-keyset.json"
    settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES = 60
    jobs = tmp_path / "huey.sqlite3"
    with sqlite3.connect(jobs) as queue:
        queue.execute("CREATE TABLE task (id INTEGER PRIMARY KEY, data BLOB)")
    queue.close()
    settings.HUEY = {"huey_class": "huey.SqliteHuey", "filename": str(jobs)}


@pytest.mark.django_db
def test_no_backup_fails_in_production_and_passes_with_a_note_in_development(
    backup_locations, posture_target, production_target
):
    assert check_backups_fresh(production_target).status is Status.FAIL
    development = check_backups_fresh(posture_target)
    assert development.status is Status.PASS
    assert development.detail.startswith("not configured (development)")


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_a_backup_is_fresh_for_two_intervals_then_stale(backup_locations, production_target, clock):
    run_backup(AuditContext.system())

    clock.shift(timedelta(minutes=119))
    assert check_backups_fresh(production_target).status is Status.PASS

    clock.shift(timedelta(minutes=2))
    result = check_backups_fresh(production_target)
    assert result.status is Status.FAIL
    assert "the newest backup is 2.0 hours old, more than 2.0" in result.detail


@pytest.mark.django_db
def test_no_restore_drill_fails_in_production_and_passes_with_a_note_in_development(
    posture_target, production_target
):
    assert check_restore_drill(production_target).status is Status.FAIL
    assert check_restore_drill(posture_target).status is Status.PASS


@pytest.mark.django_db
def test_the_newest_restore_drill_decides(production_target, clock):
    record(DRILL_PASSED, context=AuditContext.system())
    assert check_restore_drill(production_target).status is Status.PASS

    clock.shift(timedelta(days=1))
    record(DRILL_FAILED, context=AuditContext.system())
    result = check_restore_drill(production_target)
    assert result.status is Status.FAIL
    assert "failed" in result.detail

    clock.shift(timedelta(days=1))
    record(DRILL_PASSED, context=AuditContext.system())
    assert check_restore_drill(production_target).status is Status.PASS


def _add_totp(user) -> None:
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={"secret": "x"})


@pytest.mark.django_db
def test_every_staff_account_with_a_second_factor_passes(posture_target):
    staff = StaffUserFactory.create()
    _add_totp(staff)
    UserFactory.create()  # not staff: no second factor needed here

    result = check_staff_mfa(posture_target)

    assert result.status is Status.PASS, result.detail
    assert result.detail == "all 1 staff accounts have a second factor"


@pytest.mark.django_db
def test_a_staff_account_without_a_second_factor_fails(posture_target):
    _add_totp(StaffUserFactory.create())
    bare = StaffUserFactory.create()
    recovery_only = StaffUserFactory.create()
    Authenticator.objects.create(
        user=recovery_only, type=Authenticator.Type.RECOVERY_CODES, data={}
    )

    result = check_staff_mfa(posture_target)

    assert result.status is Status.FAIL
    assert result.detail.startswith("2 of 3 staff accounts have no second factor")
    assert bare.public_id in result.detail
    assert recovery_only.public_id in result.detail


@pytest.mark.django_db
def test_a_deactivated_staff_account_does_not_count(posture_target):
    StaffUserFactory.create(is_active=False)

    assert check_staff_mfa(posture_target).status is Status.PASS


def _pentest(days_ago: int) -> None:
    record_engagement(
        AuditContext.system(),
        firm="Radically Open Security",
        performed_on=timezone.now().date() - timedelta(days=days_ago),
        scope="Web application and API",
        report_sha256="a" * 64,
    )


@pytest.mark.django_db
def test_no_pentest_recorded_fails_in_production_and_is_noted_in_development(
    posture_target, production_target
):
    assert check_recent_pentest(production_target).status is Status.FAIL
    development = check_recent_pentest(posture_target)
    assert development.status is Status.PASS
    assert development.detail.startswith("not configured (development)")


@pytest.mark.django_db
def test_a_pentest_older_than_twelve_months_fails_everywhere(posture_target, production_target):
    _pentest(days_ago=400)
    assert check_recent_pentest(posture_target).status is Status.FAIL
    assert "400 days old" in check_recent_pentest(production_target).detail

    _pentest(days_ago=30)
    assert check_recent_pentest(production_target).status is Status.PASS

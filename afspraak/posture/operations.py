"""Checks of operations: backups fresh and kept within D2, the last drill passed, staff MFA."""

from datetime import timedelta
from pathlib import Path

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from afspraak.accounts.middleware import SECOND_FACTOR_TYPES
from afspraak.audit.models import AuditEvent
from afspraak.backups.backup import list_backups
from afspraak.backups.errors import BackupError
from afspraak.backups.manifests import created_at_of
from afspraak.backups.retention import (
    deleted_data_bound,
    describe,
    read_pgbackrest_retention,
    retention_problems,
)
from afspraak.compliance.checks import no_recent_pentest
from afspraak.compliance.pentests import last_engagement
from afspraak.posture.results import Result, Target, failed, passed

# The codes the restore drills record (afspraak.backups); the newest one decides.
DRILL_PASSED, DRILL_FAILED = "backups.drill.passed", "backups.drill.failed"
# A backup may be this many scheduled intervals old before the audit calls it stale.
STALE_INTERVALS = 2


def backup_age_limit() -> timedelta:
    """Return how old the newest backup may be: two scheduled intervals."""
    return timedelta(minutes=STALE_INTERVALS * settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES)


def check_backups_fresh(target: Target) -> Result:
    """Fail when the newest backup complete in every location is older than two intervals."""
    try:
        manifests = list_backups()
    except BackupError as error:
        return failed(f"the backups cannot be listed: {error}")
    moments = [moment for m in manifests if (moment := created_at_of(m)) is not None]
    if not moments:
        return target.missing("no backup is complete in every backup location")
    age = timezone.now() - max(moments)
    limit = backup_age_limit()
    if age > limit:
        return failed(
            f"the newest backup is {age.total_seconds() / 3600:.1f} hours old, more than "
            f"{limit.total_seconds() / 3600:.1f}: is the job consumer running? "
            "(`afspraak backup list`)"
        )
    return passed(f"the newest backup is {age.total_seconds() / 60:.0f} minutes old")


def check_backup_retention(target: Target) -> Result:
    """Fail when the backups' retention can keep deleted data past 7 days (either engine)."""
    if connection.vendor == "postgresql":
        return pgbackrest_retention_result(target, Path(settings.AFSPRAAK_PGBACKREST_CONFIG_PATH))
    # SQLite's backups are pruned after AFSPRAAK_BACKUP_RETENTION_DAYS: above 7 only with
    # the override, which the settings let start and this check reports every day.
    days = settings.AFSPRAAK_BACKUP_RETENTION_DAYS
    if days > 7:
        return failed(
            f"backups are kept {days} days (AFSPRAAK_BACKUP_RETENTION_OVERRIDE): deleted data "
            "stays in them past 7 days, against D2 and D5 (docs/runbooks/backups.md)"
        )
    return passed(f"backups are pruned after {days} days: deleted data leaves them within 7 days")


def pgbackrest_retention_result(target: Target, config_dir: Path) -> Result:
    """Judge the pgBackRest configuration in ``config_dir`` against control D2 (and D5)."""
    try:
        repositories = read_pgbackrest_retention(config_dir)
    except BackupError as error:
        return target.missing(str(error))
    problems = retention_problems(repositories)
    if problems:
        return failed("; ".join(problems) + " (docs/runbooks/backups.md, retention arithmetic)")
    longest = max(repositories, key=lambda repository: repository.full_days or 0)
    days = longest.full_days or 0
    return passed(
        f"deleted data leaves every repository within {describe(deleted_data_bound(days))} "
        f"(plus two backups' durations); a restore point at least {days} days old is kept"
    )


def check_restore_drill(target: Target) -> Result:
    """Fail when the newest restore drill failed (or, in production, when none ever ran)."""
    latest = (
        AuditEvent.objects.filter(action__in=(DRILL_PASSED, DRILL_FAILED))
        .order_by("-occurred_at", "-id")
        .first()
    )
    if latest is None:
        return target.missing("no restore drill has run")
    when = latest.occurred_at.strftime("%Y-%m-%d %H:%M UTC")
    if latest.action == DRILL_FAILED:
        return failed(f"the last restore drill, {when}, failed (audit event {latest.pk})")
    return passed(f"the last restore drill, {when}, passed")


def check_staff_mfa(target: Target) -> Result:
    """Fail unless every active staff account has a second factor (TOTP or a security key)."""
    staff = get_user_model().objects.filter(is_staff=True, is_active=True)
    with_factor = Authenticator.objects.filter(type__in=SECOND_FACTOR_TYPES).values("user_id")
    missing = list(staff.exclude(pk__in=with_factor).values_list("public_id", flat=True))
    total = staff.count()
    if missing:
        return failed(
            f"{len(missing)} of {total} staff accounts have no second factor: "
            + ", ".join(missing[:10])
        )
    return passed(f"all {total} staff accounts have a second factor")


def check_recent_pentest(target: Target) -> Result:
    """Fail when no penetration test was performed in the last twelve months (control C1)."""
    outcome = no_recent_pentest()
    if outcome.passed:
        return passed(outcome.detail)
    if last_engagement() is None:
        return target.missing(outcome.detail)
    return failed(outcome.detail)

"""The scheduled jobs: backup and prune (hourly by default), and the daily restore drill."""

import logging

from django.conf import settings
from django.db import connection
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.audit.context import AuditContext
from afspraak.backups import pgbackrest
from afspraak.backups.backup import prune_backups, run_backup
from afspraak.backups.drill import run_sqlite_drill
from afspraak.backups.errors import BackupError

logger = logging.getLogger(__name__)


def backup_schedule() -> crontab:
    """Return the crontab of AFSPRAAK_BACKUP_INTERVAL_MINUTES (a divisor of an hour, or hours)."""
    minutes = settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES
    if minutes < 60:
        return crontab(minute=f"*/{minutes}")
    return crontab(minute="0", hour=f"*/{minutes // 60}")


def run_scheduled_backup() -> str | None:
    """Back up and prune once; return the new backup's id, or None when it failed."""
    context = AuditContext.system()
    try:
        if connection.vendor == "postgresql":
            # pgBackRest takes the backup (full or partial) and expires old ones itself.
            taken = pgbackrest.run_pg_backup(context)
            return ",".join(backup["id"] for backup in taken["backups"])
        manifest = run_backup(context)
        prune_backups(context)
    except BackupError as error:
        # Already audited by the run or the prune; the error log is the alert.
        logger.error("scheduled backup failed: %s", error)
        return None
    return str(manifest["id"])


@db_periodic_task(backup_schedule())
def scheduled_backup() -> str | None:
    """Run the scheduled backup and prune (see run_scheduled_backup)."""
    return run_scheduled_backup()


def run_scheduled_drill() -> bool:
    """Run the restore drill once; return whether it passed (a failure is audited and logged)."""
    try:
        if connection.vendor == "postgresql":
            report = pgbackrest.run_pg_drill(AuditContext.system())
        else:
            report = run_sqlite_drill(AuditContext.system())
    except BackupError as error:
        # Another drill holds the scratch directory: that one reports.
        logger.error("scheduled restore drill did not run: %s", error)
        return False
    if not report["passed"]:
        # backups.drill.failed is audited and raises an alert; the error log says it too.
        problems = {name: figures["problems"] for name, figures in report["locations"].items()}
        logger.error("scheduled restore drill failed: %s", problems)
    return bool(report["passed"])


# Daily, at a half hour: away from the hourly backups on the hour.
@db_periodic_task(crontab(minute="30", hour="4"))
def scheduled_drill() -> bool:
    """Run the daily restore drill (see run_scheduled_drill)."""
    return run_scheduled_drill()

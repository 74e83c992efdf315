"""How long pgBackRest's retention and the backup schedule keep deleted data (D2, D5).

pgBackRest's time-based retention (``repoN-retention-full-type=time``) keeps the newest
full backup older than ``repoN-retention-full`` days and everything after it: the
differential backups on it and the WAL from its start on. So data deleted just after a
full backup lives on until the next full backup is itself that old, and a run of
``afspraak backup run`` (hourly; pgBackRest expires after each backup) then drops the
one before. The app asks for a full backup at the first run after the newest one is
``AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS`` old, counted from its end, so full backups come
up to one run interval later than that. Together, deleted data is gone from every
repository after at most

    retention-full days + FULL_EVERY_HOURS + 2 run intervals (+ two backups' durations)

and a restore point at least retention-full days old is always kept.
"""

import configparser
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from afspraak.backups.errors import BackupError

# Control D2: deleted data survives in backups at most this long.
DELETED_DATA_LIMIT = timedelta(days=7)
_REPOSITORY_OPTION = re.compile(r"^repo(\d+)-")


@dataclass(frozen=True)
class RepositoryRetention:
    """One pgBackRest repository's full-backup retention, as its configuration sets it."""

    name: str
    full_type: str
    full_days: int | None
    archive_override: bool


def read_pgbackrest_retention(config_dir: Path) -> list[RepositoryRetention]:
    """Return each repository's retention from pgbackrest.conf and the readable conf.d files."""
    main = config_dir / "pgbackrest.conf"
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        with main.open(encoding="utf-8") as config:
            parser.read_file(config)
    except OSError as error:
        raise BackupError(f"cannot read the pgBackRest configuration: {error}") from None
    # conf.d holds the secrets (readable by pgBackRest's user only); what can be read counts.
    for extra in sorted((config_dir / "conf.d").glob("*.conf")):
        try:
            with extra.open(encoding="utf-8") as config:
                parser.read_file(config)
        except (OSError, configparser.Error):
            continue
    options = dict(parser["global"]) if parser.has_section("global") else {}
    keys = sorted({int(m[1]) for name in options if (m := _REPOSITORY_OPTION.match(name))})
    if not keys:
        raise BackupError(f"{main} configures no repository")
    repositories = []
    for key in keys:
        days = options.get(f"repo{key}-retention-full", "")
        repositories.append(
            RepositoryRetention(
                name=f"repo{key}",
                # pgBackRest's default is count: a number of full backups, whatever their age.
                full_type=options.get(f"repo{key}-retention-full-type", "count").strip(),
                full_days=int(days) if days.strip().isdigit() else None,
                archive_override=f"repo{key}-retention-archive" in options,
            )
        )
    return repositories


def deleted_data_bound(retention_days: int) -> timedelta:
    """Return how long data deleted just after a full backup can stay in a repository."""
    run_interval = timedelta(minutes=settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES)
    full_every = timedelta(hours=settings.AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS)
    return timedelta(days=retention_days) + full_every + 2 * run_interval


def retention_problems(repositories: list[RepositoryRetention]) -> list[str]:
    """Return why these repositories can keep deleted data past 7 days (nothing if not)."""
    problems = []
    for repository in repositories:
        name = repository.name
        if repository.full_type != "time" or repository.full_days is None:
            problems.append(
                f"{name} keeps full backups by {repository.full_type or 'count'}, not by time "
                f"({name}-retention-full-type=time and {name}-retention-full=DAYS): "
                "nothing bounds how long deleted data stays"
            )
            continue
        if repository.archive_override:
            problems.append(
                f"{name} sets {name}-retention-archive: WAL is kept by that count instead of "
                "with the backups time-based retention keeps"
            )
        bound = deleted_data_bound(repository.full_days)
        if bound > DELETED_DATA_LIMIT:
            problems.append(
                f"{name} can keep deleted data {describe(bound)}: {repository.full_days} days "
                f"of retention + a full backup every "
                f"{settings.AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS} h + 2 runs "
                f"({settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES} min apart), more than control "
                f"D2's 7 days: lower {name}-retention-full or "
                "AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS"
            )
    return problems


def describe(span: timedelta) -> str:
    """Return ``span`` as days and hours (and minutes when there are any)."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return f"{days} d {hours} h" + (f" {minutes} min" if minutes else "")

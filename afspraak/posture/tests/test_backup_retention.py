"""The audit's check that the backups' retention keeps deleted data ≤ 7 days (D2): pgBackRest's
retention and schedule on PostgreSQL, the pruning age of the SQLite backups."""

from pathlib import Path

import pytest

from afspraak.posture.operations import check_backup_retention, pgbackrest_retention_result
from afspraak.posture.results import Status, Target

DEPLOYED = Path(__file__).resolve().parents[3] / "deploy" / "pgbackrest" / "pgbackrest.conf"
TARGET = Target(host="127.0.0.1", port=443, server_name="localhost", ca_file="", production=True)


def _config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "pgbackrest.conf").write_text(text, encoding="utf-8")
    return tmp_path


@pytest.fixture
def schedule(settings):
    """The default schedule: hourly runs, a full backup every 12 hours."""
    settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES = 60
    settings.AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS = 12
    return settings


def test_the_deployed_configuration_with_the_default_schedule_passes(schedule, tmp_path):
    (tmp_path / "pgbackrest.conf").write_bytes(DEPLOYED.read_bytes())

    result = pgbackrest_retention_result(TARGET, tmp_path)

    assert result.status is Status.PASS, result.detail
    assert result.detail.startswith("deleted data leaves every repository within 6 d 14 h")
    assert "a restore point at least 6 days old is kept" in result.detail


def test_seven_days_with_daily_full_backups_fails_naming_the_bound(schedule, tmp_path):
    schedule.AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS = 24
    config = _config(
        tmp_path,
        "[global]\nrepo1-path=/x\nrepo1-retention-full-type=time\nrepo1-retention-full=7\n",
    )

    result = pgbackrest_retention_result(TARGET, config)

    assert result.status is Status.FAIL
    assert result.detail.startswith(
        "repo1 can keep deleted data 8 d 2 h: 7 days of retention + a full backup every 24 h "
        "+ 2 runs (60 min apart), more than control D2's 7 days"
    )


def test_six_days_with_daily_full_backups_fails_too(schedule, tmp_path):
    # 6 days + 24 h + the runs: over 7 days by the two runs alone.
    schedule.AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS = 24
    (tmp_path / "pgbackrest.conf").write_bytes(DEPLOYED.read_bytes())

    result = pgbackrest_retention_result(TARGET, tmp_path)

    assert result.status is Status.FAIL
    assert "repo1 can keep deleted data 7 d 2 h" in result.detail
    assert "repo2 can keep deleted data 7 d 2 h" in result.detail


def test_a_slower_schedule_counts_its_runs(schedule, tmp_path):
    schedule.AFSPRAAK_BACKUP_INTERVAL_MINUTES = 480
    (tmp_path / "pgbackrest.conf").write_bytes(DEPLOYED.read_bytes())

    result = pgbackrest_retention_result(TARGET, tmp_path)

    assert result.status is Status.FAIL
    assert "repo1 can keep deleted data 7 d 4 h" in result.detail


def test_count_based_retention_fails_as_unbounded_in_time(schedule, tmp_path):
    config = _config(tmp_path, "[global]\nrepo1-path=/x\nrepo1-retention-full=2\n")

    result = pgbackrest_retention_result(TARGET, config)

    assert result.status is Status.FAIL
    assert result.detail.startswith("repo1 keeps full backups by count, not by time")


def test_an_archive_retention_override_fails(schedule, tmp_path):
    config = _config(
        tmp_path,
        "[global]\nrepo1-path=/x\nrepo1-retention-full-type=time\nrepo1-retention-full=6\n"
        "repo1-retention-archive=30\n",
    )

    result = pgbackrest_retention_result(TARGET, config)

    assert result.status is Status.FAIL
    assert "repo1 sets repo1-retention-archive" in result.detail


def test_a_retention_in_conf_d_counts(schedule, tmp_path):
    (tmp_path / "pgbackrest.conf").write_bytes(DEPLOYED.read_bytes())
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "longer.conf").write_text("[global]\nrepo2-retention-full=9\n")

    result = pgbackrest_retention_result(TARGET, tmp_path)

    assert result.status is Status.FAIL
    assert result.detail.startswith("repo2 can keep deleted data 9 d 14 h")


def test_a_missing_configuration_fails_in_production_and_is_noted_in_development(tmp_path):
    assert pgbackrest_retention_result(TARGET, tmp_path).detail.startswith(
        "not configured: cannot read the pgBackRest configuration"
    )
    development = Target("127.0.0.1", 443, "localhost", "", production=False)
    assert pgbackrest_retention_result(development, tmp_path).status is Status.PASS


@pytest.mark.django_db
@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("days", "status", "says"),
    [(7, Status.PASS, "leaves them within 7 days"), (8, Status.FAIL, "kept 8 days")],
)
def test_sqlite_backups_are_judged_by_their_pruning_age(schedule, days, status, says):
    schedule.AFSPRAAK_BACKUP_RETENTION_DAYS = days

    result = check_backup_retention(TARGET)

    assert result.status is status
    assert says in result.detail


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_postgresql_is_judged_by_pgbackrests_configuration(schedule, tmp_path):
    schedule.AFSPRAAK_PGBACKREST_CONFIG_PATH = str(tmp_path)
    # SQLite's retention setting, even past 7 days, is not what judges PostgreSQL.
    schedule.AFSPRAAK_BACKUP_RETENTION_DAYS = 8

    result = check_backup_retention(TARGET)

    assert result.detail.startswith("not configured: cannot read the pgBackRest")

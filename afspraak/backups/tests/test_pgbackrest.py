"""PostgreSQL backups by pgBackRest, driven by `afspraak backup`, against real servers.

A throw-away PostgreSQL 15 archiving its WAL through pgBackRest into two encrypted
repositories: a directory, and SeaweedFS's S3 over TLS. `afspraak backup` runs as a
subprocess on that database (the test run itself is on SQLite), so the commands detect
PostgreSQL exactly as an installation's would. Marked ``pgbackrest``: the default pass
runs these once; the PostgreSQL pass of `make test` leaves them out.
"""

import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from afspraak.backups.certification import LEDGER_MARK_ANNOTATION
from afspraak.backups.tests.pgbackrest_servers import (
    BUCKET,
    PgBackRestSetup,
    as_server_user,
    start_days_ahead_setup,
    start_pgbackrest_setup,
)

pytestmark = [pytest.mark.pgbackrest, pytest.mark.sqlite_only]


@pytest.fixture(scope="session")
def master_keyset(_master_keyset: Path) -> Path:
    """Give the run's master keyset to the `afspraak` subprocesses."""
    return _master_keyset


@pytest.fixture(scope="session")
def pg(master_keyset: Path) -> Iterator[PgBackRestSetup]:
    """Start PostgreSQL, SeaweedFS and pgBackRest's stanza once; stop them at the end."""
    yield from start_pgbackrest_setup(master_keyset)


@pytest.fixture(scope="session")
def first_backup(pg: PgBackRestSetup, master_keyset: Path) -> dict[str, Any]:
    """Take the session's first backup (full, to both repositories) through the command."""
    return _afspraak(pg, master_keyset, "backup", "run", "--json")


def _afspraak(
    pg: PgBackRestSetup,
    master_keyset: Path,
    *arguments: str,
    expect_failure: bool = False,
    extra: dict[str, str] | None = None,
) -> Any:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        pg.python("-m", "afspraak.cli", *arguments),
        env=pg.environment(master_keyset, pg.base / "var") | (extra or {}),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if expect_failure:
        assert result.returncode != 0, result.stdout
        return result
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout) if "--json" in arguments else result.stdout


def _owner(pg: PgBackRestSetup, port: int | None = None) -> psycopg.Connection[Any]:
    kwargs = pg.postgres.connection_kwargs("owner", "afspraak")
    return psycopg.connect(**(kwargs | ({"port": port} if port else {})), autocommit=True)


def _as_superuser(pg: PgBackRestSetup, sql: str, *, socket_dir: Path, port: int) -> str:
    result = subprocess.run(  # noqa: S603 - fixed tool
        [
            *as_server_user(),
            str(pg.bin_dir / "psql"),
            "-X",
            "-At",
            "-h",
            str(socket_dir),
            "-p",
            str(port),
            "-d",
            "afspraak",
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return result.stdout.strip()


def _events(pg: PgBackRestSetup, action: str) -> list[dict[str, Any]]:
    with _owner(pg) as connection:
        rows = connection.execute(
            "SELECT data FROM audit_auditevent WHERE action = %s ORDER BY id", [action]
        ).fetchall()
    return [row[0] for row in rows]


def test_a_full_backup_goes_encrypted_to_both_repositories_and_the_drill_passes(
    pg, master_keyset, first_backup
):
    backups = first_backup["backups"]
    assert sorted(backup["locations"][0] for backup in backups) == ["repo1", "repo2"]
    assert {backup["type"] for backup in backups} == {"full"}
    assert _events(pg, "backups.backup.completed")[-1]["types"] == {
        "repo1": "full",
        "repo2": "full",
    }
    listing = _afspraak(pg, master_keyset, "backup", "list", "--json")
    assert {(b["id"], b["locations"][0]) for b in backups} <= {
        (b["id"], b["locations"][0]) for b in listing
    }
    assert all(b["size"] > 0 and b["created_at"].endswith("+00:00") for b in listing)
    verified = _afspraak(pg, master_keyset, "backup", "verify", backups[0]["id"], "--json")
    assert verified["id"] == backups[0]["id"]
    # Both repositories are encrypted: pgBackRest's own catalogue is ciphertext at rest.
    repo1_info = (pg.base / "repo1" / "backup" / "afspraak" / "backup.info").read_bytes()
    assert b"[backup:current]" not in repo1_info
    s3_info = (
        pg.s3.client()
        .get_object(Bucket=BUCKET, Key="pgbackrest/backup/afspraak/backup.info")["Body"]
        .read()
    )
    assert b"[backup:current]" not in s3_info

    drill = _afspraak(pg, master_keyset, "backup", "drill", "--json")

    assert drill["passed"], drill
    assert drill["engine"] == "postgresql"
    for repository in ("repo1", "repo2"):
        figures = drill["locations"][repository]
        assert figures["problems"] == []
        assert figures["tables"] > 20
        assert figures["key_tables"]["tenancy_organization"] == {"restored": 0, "live": 0}
        assert figures["rto_seconds"] > 0
    assert _events(pg, "backups.drill.passed")[-1]["locations"] == drill["locations"]
    status = _afspraak(pg, master_keyset, "backup", "status", "--json")
    assert status["engine"] == "postgresql"
    assert status["last_drill"]["passed"] is True
    assert status["newest_backup"]["age_seconds"] < 600


def test_point_in_time_restore_lands_at_the_requested_time(pg, master_keyset, first_backup):
    with _owner(pg) as connection:
        connection.execute("CREATE TABLE pitr_marker (label text)")
        connection.execute("INSERT INTO pitr_marker VALUES ('before-1'), ('before-2')")
    time.sleep(1.1)
    noted = datetime.now(UTC)
    time.sleep(1.1)
    socket_dir, port = pg.postgres.data_dir.parent, pg.postgres.port
    # Its own statement: the commit must be in a segment that gets archived.
    _as_superuser(pg, "SELECT pg_switch_wal()", socket_dir=socket_dir, port=port)
    with _owner(pg) as connection:
        connection.execute("INSERT INTO pitr_marker VALUES ('after-1')")
    _as_superuser(pg, "SELECT pg_switch_wal()", socket_dir=socket_dir, port=port)
    target = pg.base / "pitr-data"

    restored = _afspraak(
        pg,
        master_keyset,
        "backup",
        "restore",
        "--to",
        str(target),
        "--to-time",
        noted.isoformat(),
        "--from",
        "repo2",
        "--json",
    )

    assert restored["restored_to"] == str(target)
    rows = _start_and_read(pg, target, "SELECT label FROM pitr_marker ORDER BY label")
    assert rows == ["before-1", "before-2"]
    completed = _events(pg, "backups.restore.completed")[-1]
    assert completed["to_time"] == noted.isoformat()
    again = _afspraak(
        pg,
        master_keyset,
        "backup",
        "restore",
        "--to",
        str(target),
        "--json",
        expect_failure=True,
    )
    assert "exists: restore only into a new data directory" in again.stderr


def _start_and_read(pg: PgBackRestSetup, data: Path, sql: str) -> list[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pg_ctl = [*as_server_user(), str(pg.bin_dir / "pg_ctl"), "-D", str(data)]
    options = f"-p {port} -c listen_addresses='' -c unix_socket_directories='{pg.base}'"
    subprocess.run(  # noqa: S603 - fixed tool
        [*pg_ctl, "-l", str(pg.base / "pitr.log"), "-w", "-t", "120", "-o", options, "start"],
        check=True,
        capture_output=True,
        cwd="/",
    )
    try:
        deadline = time.monotonic() + 60
        while _as_superuser(pg, "SELECT pg_is_in_recovery()", socket_dir=pg.base, port=port) != "f":
            assert time.monotonic() < deadline, "the restored cluster stayed in recovery"
            time.sleep(0.2)
        return _as_superuser(pg, sql, socket_dir=pg.base, port=port).splitlines()
    finally:
        subprocess.run(  # noqa: S603 - fixed tool
            [*pg_ctl, "-m", "immediate", "-w", "stop"], check=False, capture_output=True, cwd="/"
        )


def test_losing_the_second_location_fails_the_backup_audited_and_alert_worthy(
    pg, master_keyset, first_backup
):
    lost = {"PGBACKREST_REPO2_S3_BUCKET": "no-such-bucket"}

    failed = _afspraak(pg, master_keyset, "backup", "run", expect_failure=True, extra=lost)

    assert "failed at backup to repo2" in failed.stderr
    event = _events(pg, "backups.backup.failed")[-1]
    assert event == {"engine": "postgresql", "stage": "backup to repo2", "succeeded": ["repo1"]}
    drill = _afspraak(
        pg, master_keyset, "backup", "drill", "--json", expect_failure=True, extra=lost
    )
    assert "restore drill failed" in drill.stderr
    report = json.loads(drill.stdout)
    assert not report["passed"]
    assert _events(pg, "backups.drill.failed")[-1] == {
        "engine": "postgresql",
        "locations": report["locations"],
    }


def test_the_hourly_job_takes_differential_backups_between_full_ones(
    pg, master_keyset, first_backup
):
    script = (
        "import django; django.setup()\n"
        "from afspraak.backups import tasks\n"
        "print(tasks.scheduled_backup.call_local())\n"
    )

    ran = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        env=pg.environment(master_keyset, pg.base / "var"),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )

    assert ran.returncode == 0, ran.stderr[-3000:]
    completed = _events(pg, "backups.backup.completed")[-1]
    assert completed["types"] == {"repo1": "diff", "repo2": "diff"}
    labels = ran.stdout.strip().splitlines()[-1].split(",")
    assert sorted(labels) == sorted(completed["backups"].values())
    assert all(label.endswith("D") for label in labels)


# --- deletion certification (D2) against pgBackRest's repositories ---------------------------

_CREATE_ORGANIZATION = """
import django; django.setup()
from afspraak.tenancy.roles import Role
from afspraak.testing.factories import MeetingTypeFactory, MembershipFactory, OrganizationFactory
organization = OrganizationFactory(name="Zq7Marker Practice", slug="zq7marker")
MembershipFactory(organization=organization, role=Role.OWNER)
MeetingTypeFactory(schedule__organization=organization, name="Zq7Marker intake")
"""

_DELETE_ORGANIZATION = """
import django; django.setup()
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.organizations import delete_organization
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import member_access
organization = Organization.objects.get(slug="zq7marker")
with organization_context(organization):
    owner = Membership.objects.get(organization=organization, role="owner")
delete_organization(member_access(owner, reauthenticated=True), confirmation_slug="zq7marker")
"""


def _script(pg: PgBackRestSetup, master_keyset: Path, script: str) -> None:
    ran = subprocess.run(  # noqa: S603 - our own interpreter and script
        pg.python("-c", script),
        env=pg.environment(master_keyset, pg.base / "var"),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]


def _ledger(pg: PgBackRestSetup, public_id: str) -> tuple[int, Any]:
    with _owner(pg) as connection:
        row = connection.execute(
            "SELECT id, certified_at FROM audit_deletionrecord WHERE public_id = %s", [public_id]
        ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_deletion_stays_uncertified_while_a_backup_before_it_remains_in_any_repository(
    pg, master_keyset, first_backup
):
    _script(pg, master_keyset, _CREATE_ORGANIZATION)
    _afspraak(pg, master_keyset, "backup", "run", "--json")
    _script(pg, master_keyset, _DELETE_ORGANIZATION)
    (pending,) = _afspraak(pg, master_keyset, "deletion", "status", "--json")
    assert pending["kind"] == "organization"
    before = {
        (backup["id"], backup["locations"][0]): backup["type"]
        for backup in _afspraak(pg, master_keyset, "backup", "list", "--json")
    }
    assert {location for _, location in before} == {"repo1", "repo2"}
    for repository in ("repo1", "repo2"):
        count = sum(1 for _, location in before if location == repository)
        assert f"{repository} still holds {count} backups taken before the deletion (" in (
            " / ".join(pending["reasons"])
        )
    lost = _afspraak(
        pg,
        master_keyset,
        "deletion",
        "status",
        "--json",
        extra={"PGBACKREST_REPO2_S3_BUCKET": "no-such-bucket"},
    )
    assert any(reason.startswith("repo2 could not be read: ") for reason in lost[0]["reasons"])

    _afspraak(pg, master_keyset, "backup", "run", "--full", "--json")
    _afspraak(pg, master_keyset, "backup", "prune", "--json")

    # A full backup after the deletion expires nothing by itself: the old ones are young.
    # (test_deleted_data_leaves_every_backup_and_wal_within_7_days_by_retention_alone
    # lets the days pass.)
    (still,) = _afspraak(pg, master_keyset, "deletion", "status", "--json")
    assert any("taken before the deletion" in reason for reason in still["reasons"])
    assert _ledger(pg, pending["id"])[1] is None


# --- the D2 proof: days pass, and pgBackRest's retention alone expires the deleted data ------

# Every table's rows, as text, searched for the marker (as the cluster's superuser, past
# row-level security): how many tables hold it.
_TABLES_HOLDING_MARKER = """
SELECT count(*) FROM pg_tables t
WHERE t.schemaname = 'public' AND (xpath('/row/n/text()', query_to_xml(format(
    'SELECT count(*) AS n FROM %I.%I r WHERE r::text ILIKE %L',
    t.schemaname, t.tablename, '%zq7marker%'), false, true, '')))[1]::text::int > 0
"""


@pytest.fixture
def days_ahead(master_keyset: Path) -> Iterator[PgBackRestSetup]:
    """Start PostgreSQL and pgBackRest on a clock the test moves (see pgbackrest_servers)."""
    yield from start_days_ahead_setup(master_keyset)


def _info(pg: PgBackRestSetup) -> dict[str, Any]:
    [stanza] = json.loads(pg.pgbackrest("info", "--output=json"))
    return dict(stanza)


def _restore_and_count_marker_tables(
    pg: PgBackRestSetup, label: str, repository: int, target: Path
) -> int:
    pg.pgbackrest(
        "restore",
        f"--repo={repository}",
        f"--set={label}",
        f"--pg1-path={target}",
        "--type=immediate",
        "--target-action=promote",
        "--archive-mode=off",
    )
    try:
        [count] = _start_and_read(pg, target, _TABLES_HOLDING_MARKER)
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return int(count)


def test_deleted_data_leaves_every_backup_and_wal_within_7_days_by_retention_alone(
    days_ahead, master_keyset
):
    pg = days_ahead
    # The deployed schedule, simulated: the hourly run asks for a full backup once the newest
    # full one is AFSPRAAK_PGBACKREST_FULL_EVERY_HOURS (12) old, i.e. at the 13th run after
    # it (a backup takes more than no time), a differential one otherwise; pgBackRest
    # expires after each backup with the deployed pgbackrest.conf's retention (6 days),
    # keeping the newest full backup older than that and everything after it. So what
    # decides when the data deleted after the full backup at 0 h goes is the age of the
    # next one, at 13 h: the runs between 26 h and 156 h, whose full backups are younger,
    # change nothing and are left out (each takes seconds here).
    start = datetime.now(UTC).replace(microsecond=0)

    def run_at(hours: int) -> dict[str, str]:
        pg.move_clock(start + timedelta(hours=hours))
        taken = _afspraak(pg, master_keyset, "backup", "run", "--json")["backups"]
        return {backup["locations"][0]: backup["type"] for backup in taken}

    pg.move_clock(start)
    _script(pg, master_keyset, _CREATE_ORGANIZATION)
    assert run_at(0) == {"repo1": "full", "repo2": "full"}
    # Deleted just after a full backup: the worst case, the longest its data can live on.
    _script(pg, master_keyset, _DELETE_ORGANIZATION)
    (pending,) = _afspraak(pg, master_keyset, "deletion", "status", "--json")
    deleted_at = datetime.fromisoformat(pending["deleted_at"])
    entry = _ledger(pg, pending["id"])[0]
    holding = {(b["label"], int(b["database"]["repo-key"])) for b in _info(pg)["backup"]}
    assert run_at(1) == {"repo1": "diff", "repo2": "diff"}
    assert run_at(13) == {"repo1": "full", "repo2": "full"}
    assert run_at(26) == {"repo1": "full", "repo2": "full"}

    # 6 days 12 hours after the deletion: the first full backup after it is not yet 6 days
    # old, so pgBackRest keeps the one before it, with the WAL from it on. (The run at
    # 157 h may or may not expire it: that backup's stop and the 13 h one's differ by
    # seconds either way.)
    assert run_at(156) == {"repo1": "full", "repo2": "full"}
    info = _info(pg)
    assert holding <= {(b["label"], int(b["database"]["repo-key"])) for b in info["backup"]}
    (still,) = _afspraak(pg, master_keyset, "deletion", "status", "--json")
    assert {reason.split(" still holds ")[0] for reason in still["reasons"]} == {"repo1", "repo2"}
    assert _ledger(pg, pending["id"])[1] is None
    for label, repository in sorted(holding):
        target = pg.base / f"before-{repository}"
        assert _restore_and_count_marker_tables(pg, label, repository, target) > 0, label
    for archive in info["archive"]:
        repository = int(archive["database"]["repo-key"])
        first_after = min(
            b["archive"]["start"]
            for b in info["backup"]
            if int(b["database"]["repo-key"]) == repository
            and b["type"] == "full"
            and int(b["annotation"][LEDGER_MARK_ANNOTATION]) >= entry
        )
        # The WAL written up to the deletion is still archived too.
        assert archive["min"] < first_after

    # The hourly run 6 days 14 hours after the deletion: the first full backup after it is
    # over 6 days old, and pgBackRest's own expiry (no forcing) drops every backup taken
    # before the deletion (and the differential one after it, on the same full one) and
    # the WAL before that full backup, in both repositories.
    assert run_at(158) == {"repo1": "diff", "repo2": "diff"}

    assert _afspraak(pg, master_keyset, "deletion", "status", "--json") == []
    certified_at = _ledger(pg, pending["id"])[1]
    assert certified_at is not None
    assert timedelta(days=6, hours=12) < certified_at - deleted_at <= timedelta(days=7)
    info = _info(pg)
    remaining = {(b["label"], int(b["database"]["repo-key"])) for b in info["backup"]}
    assert not holding & remaining
    assert {repository for _, repository in remaining} == {1, 2}
    assert all(
        b["timestamp"]["start"] > deleted_at.timestamp()
        and int(b["annotation"][LEDGER_MARK_ANNOTATION]) >= entry
        for b in info["backup"]
    )
    for archive in info["archive"]:
        repository = int(archive["database"]["repo-key"])
        oldest_kept = min(
            (b for b in info["backup"] if int(b["database"]["repo-key"]) == repository),
            key=lambda b: b["label"],
        )
        assert archive["min"] >= oldest_kept["archive"]["start"]
    for label, repository in sorted(remaining):
        target = pg.base / f"remaining-{repository}-{label}"
        assert _restore_and_count_marker_tables(pg, label, repository, target) == 0, label


_DELIVER_OUTBOX = """
import django; django.setup()
from afspraak.audit.outbox import deliver_due
while deliver_due():
    pass
"""


def test_the_drill_fails_naming_the_link_when_the_restored_audit_chain_is_broken(
    pg, master_keyset, first_backup
):
    # Delivering the outbox links the events recorded so far into the chain.
    _script(pg, master_keyset, _DELIVER_OUTBOX)
    socket_dir, port = pg.postgres.data_dir.parent, pg.postgres.port
    first_linked = (
        "SELECT e.id, e.data::text FROM audit_auditevent e "
        "JOIN audit_auditchainlink l ON l.event_id = e.id ORDER BY l.sequence LIMIT 1"
    )
    edited, original = _as_superuser(pg, first_linked, socket_dir=socket_dir, port=port).split(
        "|", 1
    )
    # An intruder with the superuser's power edits an event (past its append-only trigger)
    # before the backup: the copies carry the break.
    _as_superuser(
        pg,
        "SET session_replication_role = replica; "  # noqa: S608 - the test's own id
        f"UPDATE audit_auditevent SET data = '{{\"x\": 1}}' WHERE id = {int(edited)}",
        socket_dir=socket_dir,
        port=port,
    )
    try:
        _afspraak(pg, master_keyset, "backup", "run", "--json")
        failed = _afspraak(pg, master_keyset, "backup", "drill", "--json", expect_failure=True)
    finally:
        _as_superuser(
            pg,
            "SET session_replication_role = replica; UPDATE audit_auditevent "  # noqa: S608
            f"SET data = $json${original}$json$ WHERE id = {int(edited)}",
            socket_dir=socket_dir,
            port=port,
        )

    report = json.loads(failed.stdout)
    assert not report["passed"]
    for repository in ("repo1", "repo2"):
        [problem] = report["locations"][repository]["problems"]
        assert problem.startswith("the audit chain of the copy is broken: ")
        assert f"event {edited} of link 1 was changed (edited)" in problem
    assert _events(pg, "backups.drill.failed")[-1]["locations"] == report["locations"]

    # Once the event is as it was, the next backup's copies verify link by link.
    _afspraak(pg, master_keyset, "backup", "run", "--json")
    passed = _afspraak(pg, master_keyset, "backup", "drill", "--json")
    assert passed["passed"], passed
    assert all(figures["chain_links"] >= 1 for figures in passed["locations"].values())

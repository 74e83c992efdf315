"""PostgreSQL backups by pgBackRest, driven by `afspraak backup`, against real servers.

A throw-away PostgreSQL 15 archiving its WAL through pgBackRest into two encrypted
repositories: a directory, and SeaweedFS's S3 over TLS. `afspraak backup` runs as a
subprocess on that database (the test run itself is on SQLite), so the commands detect
PostgreSQL exactly as an installation's would. Marked ``pgbackrest``: the default pass
runs these once; the PostgreSQL pass of `make test` leaves them out.
"""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from afspraak.backups.tests.pgbackrest_servers import (
    BUCKET,
    PgBackRestSetup,
    as_server_user,
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
        [sys.executable, "-m", "afspraak.cli", *arguments],
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


def test_the_hourly_job_takes_differential_backups_between_daily_full_ones(
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
        [sys.executable, "-c", script],
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


def test_a_deletion_is_certified_only_once_pgbackrest_expired_every_backup_and_wal_before_it(
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
    (still,) = _afspraak(pg, master_keyset, "deletion", "status", "--json")
    assert any("taken before the deletion" in reason for reason in still["reasons"])
    assert _ledger(pg, pending["id"])[1] is None

    # What seven days of time-based retention would do: expire every full backup taken
    # before the deletion (their differential ones go with them).
    for (label, location), kind in sorted(before.items()):
        if kind == "full":
            pg.pgbackrest("expire", f"--repo={location.removeprefix('repo')}", f"--set={label}")
    (wal_only,) = _afspraak(pg, master_keyset, "deletion", "status", "--json")
    # The WAL written before the deletion is still archived: it holds the data too.
    assert [reason.split(" still holds ")[0] for reason in wal_only["reasons"]] == [
        "repo1",
        "repo2",
    ]
    assert all("WAL from" in reason for reason in wal_only["reasons"])
    # Time-based retention drops that WAL once the oldest full backup left is the new one;
    # here pgBackRest is told to keep WAL for one full backup only.
    for repository in ("1", "2"):
        pg.pgbackrest("expire", f"--repo={repository}", f"--repo{repository}-retention-archive=1")

    _afspraak(pg, master_keyset, "backup", "prune", "--json")

    assert _afspraak(pg, master_keyset, "deletion", "status", "--json") == []
    assert _ledger(pg, pending["id"])[1] is not None
    assert _events(pg, "backups.deletion.certified")[-1] == {"records": [pending["id"]]}


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

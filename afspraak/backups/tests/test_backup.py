"""Encrypted SQLite backups: a round trip with encrypted rows, refusals, kills and retention."""

import json
import signal
import sqlite3
import subprocess
import textwrap
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from afspraak.audit.context import AuditContext
from afspraak.backups import backup, tasks
from afspraak.backups.backup import (
    list_backups,
    prune_backups,
    restore_backup,
    run_backup,
    verify_backup,
)
from afspraak.backups.errors import BackupError
from afspraak.backups.locations import DirectoryLocation
from afspraak.backups.tests.conftest import PYTHON, environment_for
from afspraak.crypto.tests.records import make_invitee
from afspraak.testing.audit import only_event
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db(transaction=True)]

MONDAY_NINE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def _system() -> AuditContext:
    return AuditContext.system()


def _read_invitees(settings, tmp_path, database) -> list[str]:
    """Read every invitee's name from ``database`` in a fresh process with the master key."""
    script = textwrap.dedent(
        """
        import django
        django.setup()
        from afspraak.bookings.models import Invitee
        from afspraak.tenancy.context import organization_context
        from afspraak.tenancy.models import Organization
        for organization in Organization.objects.order_by("slug"):
            with organization_context(organization):
                for invitee in Invitee.objects.order_by("pk"):
                    print(organization.slug, invitee.name, invitee.email)
        """
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter and script
        [PYTHON, "-c", script],
        env=environment_for(settings, tmp_path, database),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.splitlines()


def test_round_trip_restores_encrypted_rows_readable_with_the_master_key(
    settings, tmp_path, backup_dirs, tenants, clock
):
    meeting_type = MeetingTypeFactory.create(schedule__organization=tenants.a)
    book(meeting_type, MONDAY_NINE, name="Ada Lovelace", email="ada@example.test")
    make_invitee(tenants.b, name="Bram Bakker", email="bram@example.test")

    manifest = run_backup(_system())

    assert [listed["id"] for listed in list_backups()] == [manifest["id"]]
    assert manifest["row_counts"]["bookings_booking"] == 1
    assert manifest["row_counts"]["bookings_invitee"] == 2
    assert manifest["files"]["jobs"]["row_counts"] == {"task": 1}
    assert manifest["schema"]["bookings"].startswith("00")
    # The ciphertext holds none of the plaintext.
    stored = (backup_dirs / "second" / manifest["id"] / "database.sqlite3.enc").read_bytes()
    assert b"SQLite format 3" not in stored
    assert b"bookings_invitee" not in stored
    completed = only_event("backups.backup.completed")
    assert completed.data["backup"] == manifest["id"]
    assert completed.data["locations"] == ["primary", "second"]

    target = tmp_path / "restored.sqlite3"
    restore_backup(_system(), manifest["id"], target, source="second")

    assert _read_invitees(settings, tmp_path, target) == [
        "alpha Ada Lovelace ada@example.test",
        "beta Bram Bakker bram@example.test",
    ]
    assert only_event("backups.restore.completed").data["backup"] == manifest["id"]


def test_a_live_database_file_is_encrypted_in_one_pass_and_restores_byte_for_byte(
    settings, tmp_path, backup_dirs, tenants
):
    make_invitee(tenants.a, name="Ada Lovelace", email="ada@example.test")
    live = tmp_path / "live.sqlite3"
    with sqlite3.connect(live) as copy:
        connection.connection.backup(copy)
    copy.close()
    before = live.read_bytes()

    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [PYTHON, "-m", "afspraak.cli", "backup", "run", "--json"],
        env=environment_for(settings, tmp_path, live),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    backup_id = json.loads(ran.stdout)["id"]
    manifest = verify_backup(backup_id)
    assert manifest["files"]["database"]["plain_size"] == len(before)
    assert manifest["row_counts"]["bookings_invitee"] == 1
    target = tmp_path / "restored.sqlite3"
    restore_backup(_system(), backup_id, target, source="second")
    # The file as it was when the backup read it (the run's audit event came after).
    assert target.read_bytes() == before
    assert _read_invitees(settings, tmp_path, target) == ["alpha Ada Lovelace ada@example.test"]


def test_a_second_directory_gets_its_copy_from_the_one_encryption_pass(
    monkeypatch, backup_dirs, tenants
):
    def no_second_pass(*args, **kwargs):
        raise AssertionError("the ciphertext was copied again")

    monkeypatch.setattr(DirectoryLocation, "put_file", no_second_pass)

    manifest = run_backup(_system())

    # Listed: both locations hold every ciphertext, matching the manifest's SHA-256.
    assert [listed["id"] for listed in list_backups()] == [manifest["id"]]
    assert not list((backup_dirs / "second" / manifest["id"]).glob(".*partial"))


def test_restore_never_overwrites_a_file_or_the_live_database(
    settings, tmp_path, backup_dirs, tenants
):
    manifest = run_backup(_system())
    existing = tmp_path / "taken.sqlite3"
    existing.write_bytes(b"mine")

    with pytest.raises(BackupError, match="exists: restore only into a new file"):
        restore_backup(_system(), manifest["id"], existing)
    assert existing.read_bytes() == b"mine"

    live = tmp_path / "live.sqlite3"
    settings.DATABASES = {"default": settings.DATABASES["default"] | {"NAME": str(live)}}
    with pytest.raises(BackupError, match="refusing to restore over the live database"):
        restore_backup(_system(), manifest["id"], live)
    assert not live.exists()


def _flip_a_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["tampered", "truncated"])
@pytest.mark.parametrize("checksum_too", [False, True])
def test_a_damaged_backup_is_refused_with_nothing_written(
    tmp_path, backup_dirs, tenants, damage, checksum_too
):
    make_invitee(tenants.a)
    manifest = run_backup(_system())
    backup_id = manifest["id"]
    ciphertext = backup_dirs / "primary" / backup_id / "database.sqlite3.enc"
    if damage == "tampered":
        _flip_a_byte(ciphertext, len(ciphertext.read_bytes()) // 2)
    else:
        ciphertext.write_bytes(ciphertext.read_bytes()[: 1 << 19])
    if checksum_too:
        # An attacker who also rewrites the manifest's checksum still meets the AEAD.
        size, digest = backup.snapshot.sha256_of(ciphertext.open("rb"))
        manifest_path = ciphertext.with_name("manifest.json")
        rewritten = json.loads(manifest_path.read_text())
        rewritten["files"]["database"] |= {"size": size, "sha256": digest}
        manifest_path.write_text(json.dumps(rewritten))
    target = tmp_path / "restore" / "restored.sqlite3"
    target.parent.mkdir()

    expected = "does not decrypt" if checksum_too else "does not match its checksum"
    with pytest.raises(BackupError, match=expected):
        restore_backup(_system(), backup_id, target, source="primary")

    assert list(target.parent.iterdir()) == []
    assert only_event("backups.restore.failed").data["backup"] == backup_id
    assert list_backups() == []
    with pytest.raises(BackupError, match="not intact"):
        verify_backup(backup_id)


@pytest.fixture
def migration_from_the_future():
    # django_migrations is not emptied between tests: take the row out again.
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('bookings', '9999_from_the_future', '2030-01-01')"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE name = '9999_from_the_future'")


def test_a_backup_from_a_newer_schema_is_refused(
    tmp_path, backup_dirs, tenants, migration_from_the_future
):
    manifest = run_backup(_system())
    assert manifest["schema"]["bookings"] == "9999_from_the_future"
    target = tmp_path / "restored.sqlite3"

    with pytest.raises(BackupError, match=r"newer schema .*bookings\.9999_from_the_future"):
        restore_backup(_system(), manifest["id"], target)
    assert not target.exists()


def test_a_backup_missing_from_one_location_is_not_listed(backup_dirs, tenants):
    manifest = run_backup(_system())
    (backup_dirs / "second" / manifest["id"] / "jobs.sqlite3.enc").unlink()

    assert list_backups() == []
    with pytest.raises(BackupError, match=r"second: .*missing"):
        verify_backup(manifest["id"])


# --- kill -9 in the middle of a run ------------------------------------------------------------

_KILL_AFTER_THE_DATABASE_IS_ENCRYPTED = """
from afspraak.backups import snapshot
encrypt = snapshot._encrypt_stream
def encrypt_then_die(*args, **kwargs):
    encrypt(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
snapshot._encrypt_stream = encrypt_then_die
"""
# Halfway through the database, while the read transaction holds SQLite's lock on it.
_KILL_WHILE_ENCRYPTING = """
from afspraak.backups import snapshot
write = snapshot._HashingWriter.write
def write_then_die(self, data):
    if self.size:
        os.kill(os.getpid(), signal.SIGKILL)
    return write(self, data)
snapshot._HashingWriter.write = write_then_die
"""
_KILL_BEFORE_THE_PRIMARY_MANIFEST = """
from afspraak.backups.locations import DirectoryLocation
put = DirectoryLocation.put_bytes
def die_at_the_primary(self, *args, **kwargs):
    if self.name == "primary":
        os.kill(os.getpid(), signal.SIGKILL)
    put(self, *args, **kwargs)
DirectoryLocation.put_bytes = die_at_the_primary
"""


@pytest.mark.parametrize(
    "kill",
    [
        _KILL_WHILE_ENCRYPTING,
        _KILL_AFTER_THE_DATABASE_IS_ENCRYPTED,
        _KILL_BEFORE_THE_PRIMARY_MANIFEST,
    ],
    ids=["while-encrypting", "after-encrypting", "before-the-primary-manifest"],
)
def test_a_run_killed_midway_leaves_nothing_listed_and_the_next_run_succeeds(
    settings, tmp_path, backup_dirs, tenants, kill
):
    make_invitee(tenants.a)
    live = tmp_path / "live.sqlite3"
    with sqlite3.connect(live) as copy:
        connection.connection.backup(copy)
    copy.close()
    script = (
        "import os, signal, django\ndjango.setup()\n"
        + kill
        + textwrap.dedent(
            """
        from django.core.management import call_command
        call_command("backup", "run")
        """
        )
    )

    killed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [PYTHON, "-c", script],
        env=environment_for(settings, tmp_path, live),
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # Something of the killed run is on disk, but nothing is listed.
    assert any((backup_dirs / "primary").glob("**/*.enc"))
    assert list_backups() == []
    manifest = run_backup(_system())
    assert [listed["id"] for listed in list_backups()] == [manifest["id"]]
    # The next run cleared what the killed one left without a manifest. A copy that was
    # complete in the second location only stays there, unlisted, until prune expires it.
    assert [p.name for p in (backup_dirs / "primary").iterdir() if "Z-" in p.name] == [
        manifest["id"]
    ]
    assert not any((backup_dirs / "primary" / ".work").iterdir())


# --- retention ---------------------------------------------------------------------------------


def test_prune_deletes_backups_older_than_seven_days_everywhere(backup_dirs, tenants, clock):
    old = run_backup(_system())
    clock.shift(timedelta(days=3))
    recent = run_backup(_system())
    clock.shift(timedelta(days=4, minutes=1))

    pruned = prune_backups(_system())

    assert pruned == {"primary": [old["id"]], "second": [old["id"]]}
    assert [listed["id"] for listed in list_backups()] == [recent["id"]]
    assert not (backup_dirs / "second" / old["id"]).exists()
    event = only_event("backups.backup.pruned")
    assert event.data == {"retention_days": 7, "deleted": pruned}


def test_prune_keeps_a_backup_still_inside_the_retention_at_the_next_run(
    backup_dirs, tenants, clock, settings
):
    settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES = 60
    kept = run_backup(_system())
    clock.shift(timedelta(days=7) - timedelta(minutes=61))

    assert prune_backups(_system()) == {"primary": [], "second": []}
    assert [listed["id"] for listed in list_backups()] == [kept["id"]]


def test_prune_deletes_a_backup_that_would_pass_the_retention_before_the_next_run(
    backup_dirs, tenants, clock, settings
):
    # Pruned an hour early rather than up to an hour late: no backup outlives 7 days (D2).
    settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES = 60
    old = run_backup(_system())
    clock.shift(timedelta(days=7) - timedelta(minutes=59))

    assert prune_backups(_system()) == {"primary": [old["id"]], "second": [old["id"]]}


# --- the command and the schedule --------------------------------------------------------------


def _command(*args: str) -> Any:
    output = StringIO()
    call_command("backup", *args, "--json", stdout=output)
    return json.loads(output.getvalue())


def test_the_command_answers_json(tmp_path, backup_dirs, tenants):
    ran = _command("run")
    assert _command("list") == [ran]
    verified = _command("verify", ran["id"])
    assert verified["row_counts"]["tenancy_organization"] == 2
    restored = _command("restore", ran["id"], "--to", str(tmp_path / "restored.sqlite3"))
    assert restored["restored_to"] == str(tmp_path / "restored.sqlite3")
    assert _command("prune") == {"primary": [], "second": []}


def test_the_command_refuses_bad_input_with_a_message(tmp_path, backup_dirs, tenants):
    with pytest.raises(CommandError, match="no location holds a complete backup nonsense"):
        call_command("backup", "restore", "nonsense", "--to", str(tmp_path / "x.sqlite3"))
    with pytest.raises(CommandError, match="no complete copy"):
        call_command("backup", "verify", "20260101T000000Z-00000000")


def test_the_scheduled_run_backs_up_and_prunes(backup_dirs, tenants):
    backup_id = tasks.scheduled_backup.call_local()

    assert [listed["id"] for listed in list_backups()] == [backup_id]
    assert only_event("backups.backup.pruned").data["deleted"] == {"primary": [], "second": []}


def test_a_failed_scheduled_run_is_audited_and_logged_as_an_error(
    settings, backup_dirs, tenants, caplog
):
    # The second location is a file, not a directory: writing there fails.
    blocker = backup_dirs / "not-a-directory"
    blocker.write_text("")
    settings.AFSPRAAK_BACKUP_SECOND_LOCATION = str(blocker)

    assert tasks.scheduled_backup.call_local() is None

    failed = only_event("backups.backup.failed")
    assert failed.outcome == "failure"
    assert failed.data["stage"] == "write to second"
    assert any(
        record.levelname == "ERROR" and "scheduled backup failed" in record.message
        for record in caplog.records
    )
    assert list_backups() == []
    assert not any((backup_dirs / "primary").glob("*Z-*"))

"""The deletion ledger (D2): a record per deletion, certified once no backup holds the data."""

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from afspraak.audit.context import AuditContext
from afspraak.audit.models import DeletionRecord
from afspraak.backups import certification
from afspraak.backups.backup import prune_backups, restore_backup, run_backup
from afspraak.backups.certification import certify_deletions, deletion_status
from afspraak.bookings.erasure import erase_invitee_data
from afspraak.crypto.tests.records import make_invitee
from afspraak.scheduling.meeting_types import retire_meeting_type
from afspraak.tenancy.membership import remove_member
from afspraak.tenancy.models import Organization
from afspraak.tenancy.organizations import delete_organization
from afspraak.testing.access import invitee_access, member_access
from afspraak.testing.audit import only_event
from afspraak.testing.factories import MeetingTypeFactory, book

MARKER = "Zq7Marker"


def _only_record() -> DeletionRecord:
    (entry,) = DeletionRecord.objects.all()
    return entry


@pytest.mark.django_db
def test_removing_a_member_leaves_a_record_with_public_ids_only(tenants):
    remove_member(member_access(tenants.owner, reauthenticated=True), tenants.member)

    entry = _only_record()
    assert entry.kind == "member"
    assert entry.organization_public_id == tenants.a.public_id
    assert entry.subject_ids == sorted([tenants.member.public_id, tenants.member.user.public_id])
    assert entry.actor_public_id == tenants.owner.user.public_id
    assert entry.certified_at is None
    assert "@" not in json.dumps(entry.subject_ids)


@pytest.mark.django_db
def test_deleting_a_meeting_type_leaves_a_record_disabling_one_does_not(tenants, clock):
    unused = MeetingTypeFactory.create(schedule__organization=tenants.a)

    assert retire_meeting_type(member_access(tenants.owner), unused) is True

    entry = _only_record()
    assert (entry.kind, entry.subject_ids) == ("meeting_type", [unused.public_id])


@pytest.mark.django_db
def test_deleting_an_organization_leaves_a_record_that_outlives_it(tenants):
    beta = tenants.b.public_id
    make_invitee(tenants.b)

    delete_organization(
        member_access(tenants.outsider, reauthenticated=True), confirmation_slug="beta"
    )

    entry = _only_record()
    assert (entry.kind, entry.organization_public_id, entry.subject_ids) == (
        "organization",
        beta,
        [beta],
    )
    assert entry.actor_public_id == tenants.outsider.user.public_id


@pytest.mark.django_db
def test_a_refused_deletion_leaves_no_record(tenants):
    with pytest.raises(Exception, match="exactly to confirm"):
        delete_organization(
            member_access(tenants.outsider, reauthenticated=True), confirmation_slug="nope"
        )
    assert not DeletionRecord.objects.exists()


# --- certification, end to end on SQLite ------------------------------------------------------


def _holds_marker(tmp_path, backup_id: str) -> bool:
    target = tmp_path / f"restored-{backup_id}.sqlite3"
    restore_backup(AuditContext.system(), backup_id, target, source="second")
    return MARKER.encode() in target.read_bytes()


def _status(*args: str) -> list[dict]:
    output = StringIO()
    call_command("deletion", "status", "--json", *args, stdout=output)
    return json.loads(output.getvalue())


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_an_organization_deletion_is_certified_only_once_every_older_backup_is_pruned(
    tmp_path, backup_dirs, tenants, clock
):
    # Plain-text columns carry the marker, so a leftover would show in the raw bytes.
    Organization.objects.filter(pk=tenants.b.pk).update(name=f"{MARKER} Practice")
    MeetingTypeFactory.create(schedule__organization=tenants.b, name=f"{MARKER} intake")
    make_invitee(tenants.b, name=f"{MARKER} Invitee", email="marker@example.test")
    before = run_backup(AuditContext.system())

    delete_organization(
        member_access(tenants.outsider, reauthenticated=True), confirmation_slug="beta"
    )
    entry = _only_record()
    clock.shift(timedelta(days=2))
    after = run_backup(AuditContext.system())

    assert before["deletion_ledger_mark"] < entry.pk <= after["deletion_ledger_mark"]
    assert certify_deletions(AuditContext.system()) == []
    (pending,) = _status()
    assert pending["id"] == entry.public_id
    assert pending["reasons"] == [
        "1 backup taken before the deletion remains in the primary location "
        "until 2026-12-08 12:00 UTC",
        "1 backup taken before the deletion remains in the second location "
        "until 2026-12-08 12:00 UTC",
    ]
    # The search can fail: the backup from before the deletion holds the marker.
    assert _holds_marker(tmp_path, before["id"])

    clock.shift(timedelta(days=4, hours=23))
    prune_backups(AuditContext.system())
    entry.refresh_from_db()
    assert entry.certified_at is None

    clock.shift(timedelta(hours=2))
    pruned = prune_backups(AuditContext.system())

    assert pruned == {"primary": [before["id"]], "second": [before["id"]]}
    entry.refresh_from_db()
    assert entry.certified_at is not None
    assert only_event("backups.deletion.certified").data == {"records": [entry.public_id]}
    assert _status() == []
    assert not _holds_marker(tmp_path, after["id"])


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_an_incomplete_backup_or_an_unreadable_location_blocks_certification(
    settings, backup_dirs, tenants
):
    remove_member(member_access(tenants.owner, reauthenticated=True), tenants.member)
    (backup_dirs / "primary").mkdir()
    (backup_dirs / "second" / "20261201T000000Z-deadbeef").mkdir(parents=True)

    (pending,) = deletion_status()
    assert pending["reasons"] == [
        "1 incomplete backup folder(s) remain in the second location until the next prune"
    ]
    blocker = backup_dirs / "not-a-directory"
    blocker.write_text("")
    settings.AFSPRAAK_BACKUP_SECOND_LOCATION = str(blocker)

    assert certify_deletions(AuditContext.system()) == []
    (pending,) = deletion_status()
    assert pending["reasons"] == [
        f"the second location could not be read: {blocker} is not a directory"
    ]


def _sealed_row(booking_pk: int) -> bytes:
    """Return the booking's sealed personal data as stored: ciphertext, as the file holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed FROM bookings_booking WHERE id = %s", [booking_pk])
        (stored,) = cursor.fetchone()
    return stored if isinstance(stored, bytes) else str(stored).encode()


def _holds(tmp_path, backup_id: str, needle: bytes) -> bool:
    target = tmp_path / f"restored-{backup_id}.sqlite3"
    restore_backup(AuditContext.system(), backup_id, target, source="second")
    return needle in target.read_bytes()


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_an_invitee_erasure_is_certified_once_the_backups_holding_the_old_row_are_pruned(
    tmp_path, backup_dirs, tenants, clock
):
    meeting_type = MeetingTypeFactory.create(
        schedule__organization=tenants.a, schedule__host=tenants.member.user
    )
    booking = book(
        meeting_type,
        datetime(2026, 12, 7, 8, 0, tzinfo=UTC),
        name=f"{MARKER} Ada",
        email="ada@example.test",
    )
    # The name is sealed, so the raw bytes hold the row's ciphertext, not the marker: the
    # erasure rewrites that ciphertext, and only a backup from before keeps the old one.
    old_ciphertext = _sealed_row(booking.pk)
    before = run_backup(AuditContext.system())

    erase_invitee_data(invitee_access(booking), booking)
    entry = _only_record()
    assert (entry.kind, entry.organization_public_id) == ("invitee", tenants.a.public_id)
    assert booking.public_id in entry.subject_ids
    assert _sealed_row(booking.pk) != old_ciphertext
    clock.shift(timedelta(days=2))
    after = run_backup(AuditContext.system())

    assert certify_deletions(AuditContext.system()) == []
    assert [pending["id"] for pending in _status()] == [entry.public_id]
    assert _holds(tmp_path, before["id"], old_ciphertext)

    clock.shift(timedelta(days=5, hours=1))
    assert prune_backups(AuditContext.system())["second"] == [before["id"]]

    entry.refresh_from_db()
    assert entry.certified_at is not None
    assert _status() == []
    assert not _holds(tmp_path, after["id"], old_ciphertext)


# --- certification from pgBackRest's info (the real servers: test_pgbackrest.py) -------------


def _pg_backup(label: str, repo: int, first_wal: str, mark: str | None) -> dict:
    return {
        "label": label,
        "annotation": {"afspraak-deletion-ledger-mark": mark} if mark is not None else None,
        "timestamp": {"start": 1_796_000_000, "stop": 1_796_000_060},
        "database": {"id": 1, "repo-key": repo},
        "archive": {"start": first_wal, "stop": first_wal},
    }


def _pg_info(backups: list[dict], oldest_wal: str, repo2_status: int = 0) -> dict:
    return {
        "repo": [
            {"key": 1, "status": {"code": 0, "message": "ok"}},
            {"key": 2, "status": {"code": repo2_status, "message": "missing stanza path"}},
        ],
        "backup": backups,
        "archive": [
            {"database": {"id": 1, "repo-key": key}, "min": oldest_wal, "max": "0" * 24}
            for key in (1, 2)
        ],
    }


def _pg_status_of(info: dict, record_id: int) -> list[str]:
    surveys = certification._read_pg_surveys(info)
    return certification._pg_reasons(DeletionRecord(pk=record_id), surveys)


def test_a_pgbackrest_backup_without_a_mark_holds_every_deletion():
    wal = "000000010000000000000010"
    info = _pg_info(
        [_pg_backup("L1F", 1, wal, None), _pg_backup("L2F", 2, wal, "7")], oldest_wal=wal
    )

    assert _pg_status_of(info, 7) == [
        "repo1 still holds backup L1F, taken 2026-11-30 00:53 UTC before the deletion"
    ]
    no_clean_wal = (
        "still holds WAL from 000000010000000000000010 on, and no backup taken after "
        "the deletion shows where WAL without it begins"
    )
    assert _pg_status_of(info, 8) == [
        "repo1 still holds backup L1F, taken 2026-11-30 00:53 UTC before the deletion",
        f"repo1 {no_clean_wal}",
        "repo2 still holds backup L2F, taken 2026-11-30 00:53 UTC before the deletion",
        f"repo2 {no_clean_wal}",
    ]


def test_wal_older_than_the_first_backup_after_a_deletion_or_an_unreadable_repository_blocks_it():
    after = [
        _pg_backup("L1F", 1, "000000010000000000000010", "5"),
        _pg_backup("L2F", 2, "000000010000000000000011", "5"),
    ]

    assert _pg_status_of(_pg_info(after, oldest_wal="000000010000000000000010"), 5) == []
    assert _pg_status_of(_pg_info(after, oldest_wal="00000001000000000000000F"), 5) == [
        f"repo{key} still holds WAL from 00000001000000000000000F on, written before the "
        "first backup after the deletion (whose WAL starts at 000000010000000000000010)"
        for key in (1, 2)
    ]
    unreadable = _pg_info(after, oldest_wal="000000010000000000000010", repo2_status=1)
    assert _pg_status_of(unreadable, 5) == ["repo2 could not be read: missing stanza path"]


def test_an_info_output_that_cannot_be_understood_certifies_nothing(monkeypatch):
    monkeypatch.setattr(certification, "stanza_info", lambda: {"repo": [{"key": "x"}]})

    (survey,) = certification._pg_surveys().values()

    assert survey.error.startswith("unexpected info output")

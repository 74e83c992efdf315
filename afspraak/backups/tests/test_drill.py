"""The restore drill: it passes on good backups and fails, audited and alerted, on bad ones."""

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert, AuditChainLink, AuditEvent, OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.backups import snapshot, tasks
from afspraak.backups.backup import run_backup
from afspraak.backups.drill import run_sqlite_drill
from afspraak.crypto.tests.records import make_invitee
from afspraak.testing.audit import only_event
from afspraak.testing.database import triggers_lifted

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db(transaction=True)]


def _command(*args: str) -> Any:
    output = StringIO()
    call_command("backup", *args, "--json", stdout=output)
    return json.loads(output.getvalue())


def test_a_drill_restores_and_checks_the_newest_backup_of_each_location(backup_dirs, tenants):
    make_invitee(tenants.a)
    run_backup(AuditContext.system())
    linked_before = AuditChainLink.objects.count()
    assert linked_before > 0
    newest = run_backup(AuditContext.system())

    report = run_sqlite_drill(AuditContext.system())

    assert report["passed"], report
    for name in ("primary", "second"):
        figures = report["locations"][name]
        assert figures["backup"] == newest["id"]
        assert figures["problems"] == []
        assert figures["key_tables"]["bookings_invitee"] == {"restored": 1, "live": 1}
        assert figures["key_tables"]["tenancy_organization"] == {"restored": 2, "live": 2}
        assert figures["rows"] == sum(newest["row_counts"].values())
        assert figures["rto_seconds"] >= 0
        assert 0 <= figures["rpo_seconds"] < 60
        # The copy's audit chain was walked: at least the links made before the backup.
        assert linked_before <= figures["chain_links"] <= AuditChainLink.objects.count()
    passed = only_event("backups.drill.passed")
    assert passed.data == {"engine": "sqlite", "locations": report["locations"]}
    # The scratch copies are gone.
    assert [p.name for p in (backup_dirs / "primary" / ".drill").iterdir()] == [".lock"]


def _flip_a_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _rewrite_manifest(backup_dirs, backup_id, change):
    path = backup_dirs / "second" / backup_id / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def _tamper_with_checksum_too(backup_dirs, backup_id):
    ciphertext = backup_dirs / "second" / backup_id / "database.sqlite3.enc"
    _flip_a_byte(ciphertext)
    with ciphertext.open("rb") as stream:
        size, digest = snapshot.sha256_of(stream)
    _rewrite_manifest(
        backup_dirs,
        backup_id,
        lambda manifest: manifest["files"]["database"].update(size=size, sha256=digest),
    )


def _truncate(backup_dirs, backup_id):
    ciphertext = backup_dirs / "second" / backup_id / "database.sqlite3.enc"
    ciphertext.write_bytes(ciphertext.read_bytes()[:1000])


def _other_keyset(backup_dirs, backup_id):
    # A keyset wrapped by another master key (or garbage): it cannot be unwrapped.
    _rewrite_manifest(backup_dirs, backup_id, lambda manifest: manifest.update(keyset="AAAA"))


def _fewer_rows_recorded(backup_dirs, backup_id):
    def change(manifest):
        manifest["row_counts"]["bookings_invitee"] += 1

    _rewrite_manifest(backup_dirs, backup_id, change)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (
            lambda dirs, backup_id: _flip_a_byte(
                dirs / "second" / backup_id / "database.sqlite3.enc"
            ),
            "does not match its checksum",
        ),
        (_tamper_with_checksum_too, "does not decrypt"),
        (_truncate, "does not match its checksum"),
        (_other_keyset, "keyset cannot be unwrapped"),
        (_fewer_rows_recorded, "row counts differ from what the backup recorded: bookings_invitee"),
    ],
    ids=["tampered", "tampered-with-checksum", "truncated", "keyset", "row-counts"],
)
def test_a_drill_fails_on_a_damaged_backup_audited_and_alerted(
    backup_dirs, tenants, damage, problem
):
    make_invitee(tenants.a)
    backup_id = run_backup(AuditContext.system())["id"]
    damage(backup_dirs, backup_id)

    output = StringIO()
    with pytest.raises(CommandError, match="restore drill failed"):
        call_command("backup", "drill", "--json", stdout=output)

    report = json.loads(output.getvalue())
    assert not report["passed"]
    assert report["locations"]["primary"]["problems"] == []
    [found] = report["locations"]["second"]["problems"]
    assert problem in found
    failed = only_event("backups.drill.failed")
    assert failed.outcome == "failure"
    assert failed.data["locations"]["second"]["backup"] == backup_id
    while deliver_due():
        pass
    assert Alert.objects.filter(rule_id="afspraak-backup-failure").count() == 1
    assert not any(p.name != ".lock" for p in (backup_dirs / "primary" / ".drill").iterdir())


def test_a_drill_without_backups_fails(backup_dirs, tenants):
    report = run_sqlite_drill(AuditContext.system())

    assert not report["passed"]
    assert report["locations"]["second"]["problems"] == ["second: no complete backup to restore"]
    only_event("backups.drill.failed")


def test_a_backup_far_from_the_live_rows_fails_the_drill(backup_dirs, tenants):
    backup_id = run_backup(AuditContext.system())["id"]
    for number in range(12):
        make_invitee(tenants.a, email=f"later-{number}@example.test")

    report = run_sqlite_drill(AuditContext.system())

    assert not report["passed"]
    figures = report["locations"]["primary"]
    assert figures["backup"] == backup_id
    assert figures["problems"] == ["bookings_invitee: 0 rows restored, 12 live"]


def test_the_daily_job_drills_and_status_shows_the_last_drill(backup_dirs, tenants, caplog):
    assert _command("status")["last_drill"] is None
    assert tasks.scheduled_drill.call_local() is False
    assert any("scheduled restore drill failed" in r.message for r in caplog.records)

    ran = _command("run")
    assert tasks.scheduled_drill.call_local() is True

    status = _command("status")
    assert status["newest_backup"]["id"] == ran["id"]
    assert status["last_drill"]["passed"] is True
    assert status["last_drill"]["locations"]["second"]["backup"] == ran["id"]
    listing = StringIO()
    call_command("backup", "list", stdout=listing)
    assert "Last restore drill: passed at" in listing.getvalue()


def test_a_drill_fails_when_the_copys_audit_chain_is_broken_and_delivers_nothing(
    backup_dirs, tenants
):
    run_backup(AuditContext.system())
    while deliver_due():
        pass
    edited = AuditEvent.objects.filter(link__isnull=False).order_by("pk").first()
    assert edited is not None
    # An intruder edited an event before the backup: the copy carries the break.
    with triggers_lifted(connection), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"x": 1}', edited.pk]
        )
    run_backup(AuditContext.system())
    undelivered = set(OutboxMessage.objects.filter(delivered_at=None).values_list("pk", "attempts"))

    report = run_sqlite_drill(AuditContext.system())

    assert not report["passed"]
    for name in ("primary", "second"):
        [problem] = report["locations"][name]["problems"]
        assert problem.startswith("the audit chain of the copy is broken: ")
        assert f"event {edited.pk} of link" in problem
        assert "(edited)" in problem
    # Reading the copy's chain delivered nothing, there or here.
    assert undelivered <= set(
        OutboxMessage.objects.filter(delivered_at=None).values_list("pk", "attempts")
    )
    only_event("backups.drill.failed")

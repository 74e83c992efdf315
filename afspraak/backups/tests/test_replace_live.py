"""`afspraak backup restore ID --replace-live`: stop-the-world, confirmed, the old file kept."""

import json
import sqlite3
import subprocess

import pytest
from django.db import connection

from afspraak.audit.context import AuditContext
from afspraak.backups.backup import run_backup
from afspraak.backups.tests.conftest import PYTHON, environment_for
from afspraak.crypto.tests.records import make_invitee

pytestmark = [pytest.mark.sqlite_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live(settings, tmp_path, backup_dirs, tenants):
    """Back up one invitee, then make a live database file holding a second one too."""
    make_invitee(tenants.a, email="first@example.test")
    backup_id = run_backup(AuditContext.system())["id"]
    make_invitee(tenants.a, email="second@example.test")
    path = tmp_path / "live.sqlite3"
    with sqlite3.connect(path) as copy:
        connection.connection.backup(copy)
    copy.close()
    return path, backup_id


def _restore(settings, tmp_path, database, *arguments):
    return subprocess.run(  # noqa: S603 - our own interpreter
        [PYTHON, "-m", "afspraak.cli", "backup", "restore", *arguments],
        env=environment_for(settings, tmp_path, database),
        # Not a terminal: no prompt, so a missing --confirm is refused.
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _invitees(path):
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as database:
        (count,) = database.execute("SELECT COUNT(*) FROM bookings_invitee").fetchone()
    database.close()
    return count


def test_replace_live_puts_the_backup_in_place_and_keeps_the_old_file(settings, tmp_path, live):
    path, backup_id = live

    done = _restore(
        settings, tmp_path, path, backup_id, "--replace-live", "--confirm", backup_id, "--json"
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["id"] == backup_id
    assert _invitees(path) == 1
    assert _invitees(result["kept_aside"]) == 2
    with sqlite3.connect(path) as database:
        [(data,)] = database.execute(
            "SELECT data FROM audit_auditevent WHERE action = 'backups.restore.completed'"
        ).fetchall()
    database.close()
    assert json.loads(data)["replace_live"] is True


def test_replace_live_is_refused_while_another_process_has_the_database_open(
    settings, tmp_path, live
):
    path, backup_id = live
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter
        [
            PYTHON,
            "-c",
            f"import sqlite3, time; c = sqlite3.connect({str(path)!r}); "
            "c.execute('SELECT 1').fetchall(); print('open', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "open"

        refused = _restore(
            settings, tmp_path, path, backup_id, "--replace-live", "--confirm", backup_id
        )
    finally:
        holder.kill()
        holder.wait()

    assert refused.returncode != 0
    assert f"the live database is open in process {holder.pid}" in refused.stderr
    assert _invitees(path) == 2
    assert sorted(p.name for p in tmp_path.glob("*live.sqlite3*")) == ["live.sqlite3"]


@pytest.mark.parametrize("confirmation", [[], ["--confirm", "20260101T000000Z-00000000"]])
def test_replace_live_needs_the_backup_id_typed_again(settings, tmp_path, live, confirmation):
    path, backup_id = live

    refused = _restore(settings, tmp_path, path, backup_id, "--replace-live", *confirmation)

    assert refused.returncode != 0
    assert "not confirmed" in refused.stderr
    assert _invitees(path) == 2

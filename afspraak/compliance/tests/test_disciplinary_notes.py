"""Disciplinary notes (O4): read by security reviewers only, each reading audited, never
erased with the account they are about, and erased once their retention has passed."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import ProtectedError

from afspraak.audit.context import AuditContext
from afspraak.compliance.models import DisciplinaryNote
from afspraak.compliance.records import (
    daily_disciplinary_note_erasure,
    read_disciplinary_notes,
    record_disciplinary_note,
)
from afspraak.compliance.tests.reviewing import security_reviewer
from afspraak.errors import ForbiddenError
from afspraak.testing.audit import assert_audited, assert_not_audited
from afspraak.testing.factories import StaffUserFactory

pytestmark = pytest.mark.django_db


def _staff(*args: str) -> str:
    out = StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def noted():
    """A staff member with one note, and the security reviewer who wrote it."""
    reviewer = security_reviewer()
    staff = StaffUserFactory.create(email="noted@staff.test")
    note = record_disciplinary_note(AuditContext.system(reviewer), staff, "Left a laptop unlocked.")
    return staff, reviewer, note


def test_a_security_reviewer_reads_a_staff_members_notes_and_the_reading_is_audited(noted):
    staff, reviewer, note = noted

    output = _staff("notes", staff.email, "--by", reviewer.email)

    assert f"{note.public_id} " in output
    assert f"by {reviewer.email}: Left a laptop unlocked." in output
    event = assert_audited(
        "compliance.disciplinary_note.read",
        actor=reviewer,
        data={"staff": staff.public_id, "notes": [note.public_id]},
    )
    # The words stay in the note, not in the trail.
    assert "laptop" not in str(event.data)


def test_no_one_else_reads_them(noted):
    staff, _, _ = noted
    # Staff, without the reviewer's permission (a superuser would hold it, as every one).
    colleague = StaffUserFactory.create(email="colleague@staff.test")

    with pytest.raises(CommandError, match="Only a security reviewer reads"):
        _staff("notes", staff.email, "--by", colleague.email)
    with pytest.raises(ForbiddenError):
        read_disciplinary_notes(AuditContext.system(colleague), staff)

    assert_not_audited("compliance.disciplinary_note.read")


def test_a_reviewer_reading_someone_without_notes_is_told_so_and_audited(db):
    reviewer = security_reviewer()
    staff = StaffUserFactory.create(email="clean@staff.test")

    assert _staff("notes", staff.email, "--by", reviewer.email) == (
        "clean@staff.test: no disciplinary notes\n"
    )
    assert_audited(
        "compliance.disciplinary_note.read", data={"staff": staff.public_id, "notes": []}
    )


def test_an_account_with_notes_cannot_be_deleted(noted):
    staff, _, note = noted

    with pytest.raises(ProtectedError):
        staff.delete()

    assert DisciplinaryNote.objects.filter(public_id=note.public_id).exists()


def test_a_note_is_erased_by_the_daily_job_once_its_retention_has_passed(clock, settings):
    settings.AFSPRAAK_DISCIPLINARY_NOTE_RETENTION_DAYS = 730
    reviewer = security_reviewer()
    staff = StaffUserFactory.create(email="noted@staff.test")
    old = record_disciplinary_note(AuditContext.system(reviewer), staff, "Shared a password.")
    clock.shift(timedelta(days=100))
    newer = record_disciplinary_note(AuditContext.system(reviewer), staff, "Tailgated a door.")

    clock.shift(timedelta(days=629, hours=23))
    assert daily_disciplinary_note_erasure.call_local() == 0
    clock.shift(timedelta(hours=2))
    assert daily_disciplinary_note_erasure.call_local() == 1

    assert list(DisciplinaryNote.objects.values_list("public_id", flat=True)) == [newer.public_id]
    event = assert_audited(
        "compliance.disciplinary_note.erased",
        actor=None,
        data={
            "staff": staff.public_id,
            "recorded_at": old.recorded_at.isoformat(),
            "retention_days": 730,
        },
    )
    assert (event.target_type, event.target_id) == ("compliance.disciplinarynote", old.public_id)
    assert "password" not in str(event.data)


def test_an_account_whose_notes_are_all_erased_can_be_deleted(clock, noted, settings):
    staff, _, _ = noted
    settings.AFSPRAAK_DISCIPLINARY_NOTE_RETENTION_DAYS = 30
    clock.shift(timedelta(days=31))

    assert daily_disciplinary_note_erasure.call_local() == 1
    staff.delete()

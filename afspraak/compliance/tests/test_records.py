"""Recording staff records with ``afspraak staff`` (P1, P2, O4), each audited."""

import hashlib
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from afspraak.compliance.models import DisciplinaryNote
from afspraak.compliance.standing import standing_refusal
from afspraak.compliance.tests.staffing import give_mfa
from afspraak.testing.audit import assert_audited
from afspraak.testing.factories import StaffUserFactory, UserFactory

DIGEST = hashlib.sha256(b"signed agreement").hexdigest()


def _staff(*args):
    out = StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


def test_a_new_staff_member_is_brought_into_good_standing(db, clock):
    staff = StaffUserFactory.create(email="new@staff.test")
    give_mfa(staff)
    _staff("publish-policy", "--version", "2026-1", "--sha256", DIGEST)
    _staff(
        "agreement", staff.email, "--version", "1", "--signed-on", "2026-11-30", "--sha256", DIGEST
    )
    _staff("acknowledge", staff.email)
    assert standing_refusal(staff) == "staff_training_missing"
    _staff("training", staff.email, "--completed-on", "2026-11-30")

    assert standing_refusal(staff) is None
    assert "new@staff.test: in good standing" in _staff("status")
    assert_audited("compliance.agreement.recorded", data={"staff": staff.public_id})
    assert_audited("compliance.policy.published", data={"version": "2026-1"})
    assert_audited("compliance.policy.acknowledged", data={"version": "2026-1"})
    assert_audited("compliance.training.recorded", data={"kind": "hire"})


@pytest.mark.parametrize(
    "args",
    [
        [
            "agreement",
            "new@staff.test",
            "--version",
            "1",
            "--signed-on",
            "2026-11-30",
            "--sha256",
            "abc",
        ],
        [
            "agreement",
            "new@staff.test",
            "--version",
            "1",
            "--signed-on",
            "2027-01-01",
            "--sha256",
            DIGEST,
        ],
        ["training", "new@staff.test", "--completed-on", "30-11-2026"],
        ["training", "customer@example.test", "--completed-on", "2026-11-30"],
        ["acknowledge", "new@staff.test"],
    ],
)
def test_bad_records_are_refused_with_a_clear_message(db, clock, args):
    StaffUserFactory.create(email="new@staff.test")
    UserFactory.create(email="customer@example.test")

    with pytest.raises(CommandError):
        _staff(*args)


def test_only_a_security_reviewer_records_disciplinary_notes(db, clock):
    staff = StaffUserFactory.create(email="new@staff.test")
    colleague = UserFactory.create(email="colleague@staff.test", is_staff=True)
    reviewer = UserFactory.create(email="reviewer@staff.test", is_staff=True)
    reviewer.user_permissions.add(Permission.objects.get(codename="review_security"))

    with pytest.raises(CommandError, match="security reviewer"):
        _staff("note", staff.email, "--by", colleague.email, "--text", "Shared a password.")
    _staff("note", staff.email, "--by", reviewer.email, "--text", "Shared a password.")

    assert DisciplinaryNote.objects.get().recorded_by == reviewer
    assert_audited("compliance.disciplinary_note.recorded", actor=reviewer)

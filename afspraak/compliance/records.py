"""Recording staff records: agreements (P1), policy versions and acknowledgements (O4),
training (P2) and disciplinary notes (O4).

Each write is atomic with its audit event. These are the operator's records, not an
organization's, so the events belong to no organization's log.
"""

import re
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.accounts.middleware import is_staff_account
from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record
from afspraak.compliance.models import (
    ConfidentialityAgreement,
    DisciplinaryNote,
    PolicyAcknowledgement,
    PolicyVersion,
    TrainingCompletion,
    TrainingKind,
)
from afspraak.errors import ConflictError, DomainError, ForbiddenError

SHA256 = re.compile(r"[0-9a-f]{64}")
REVIEWER_PERMISSION = "compliance.review_security"


def _require_staff(user: Any) -> None:
    if not is_staff_account(user):
        raise DomainError(f"{user.email} is not a staff account: staff records are for staff.")


def _require_sha256(value: str) -> str:
    digest = value.strip().lower()
    if not SHA256.fullmatch(digest):
        raise DomainError("The document hash must be a SHA-256 digest: 64 hexadecimal digits.")
    return digest


def _require_not_future(day: date, what: str) -> None:
    if day > timezone.now().date():
        raise DomainError(f"The {what} date lies in the future.")


def record_agreement(
    context: AuditContext, user: Any, *, version: str, signed_on: date, document_sha256: str
) -> ConfidentialityAgreement:
    """Record that ``user`` signed version ``version`` of the confidentiality agreement."""
    _require_staff(user)
    _require_not_future(signed_on, "signing")
    digest = _require_sha256(document_sha256)
    try:
        with transaction.atomic():
            agreement = ConfidentialityAgreement.objects.create(
                user=user, version=version, signed_on=signed_on, document_sha256=digest
            )
            record(
                "compliance.agreement.recorded",
                context=context,
                target=agreement,
                data={"staff": user.public_id, "version": version},
            )
    except IntegrityError as error:
        raise ConflictError(f"Version {version} of the agreement is already on record.") from error
    return agreement


def publish_policy(context: AuditContext, *, version: str, document_sha256: str) -> PolicyVersion:
    """Publish a new version of the information-security policy; everyone must acknowledge it."""
    digest = _require_sha256(document_sha256)
    try:
        with transaction.atomic():
            policy = PolicyVersion.objects.create(version=version, document_sha256=digest)
            record(
                "compliance.policy.published",
                context=context,
                target=policy,
                data={"version": version},
            )
    except IntegrityError as error:
        raise ConflictError(f"Policy version {version} is already published.") from error
    return policy


def acknowledge_policy(context: AuditContext, user: Any) -> PolicyAcknowledgement:
    """Record that ``user`` acknowledged the current version of the policy."""
    _require_staff(user)
    policy = PolicyVersion.current()
    if policy is None:
        raise ConflictError("No policy version is published yet: publish one first.")
    try:
        with transaction.atomic():
            acknowledgement = PolicyAcknowledgement.objects.create(user=user, policy=policy)
            record(
                "compliance.policy.acknowledged",
                context=context,
                target=acknowledgement,
                data={"staff": user.public_id, "version": policy.version},
            )
    except IntegrityError as error:
        raise ConflictError(
            f"{user.email} already acknowledged policy version {policy.version}."
        ) from error
    return acknowledgement


def record_training(
    context: AuditContext, user: Any, *, completed_on: date, kind: str | None = None
) -> TrainingCompletion:
    """Record a completed security and privacy training (the first one is the hire training)."""
    _require_staff(user)
    _require_not_future(completed_on, "completion")
    if kind is None:
        first = not TrainingCompletion.objects.filter(user_id=user.pk).exists()
        kind = TrainingKind.AT_HIRE if first else TrainingKind.ANNUAL
    if kind not in TrainingKind.values:
        raise DomainError(f"Unknown training kind {kind!r}: {', '.join(TrainingKind.values)}.")
    with transaction.atomic():
        training = TrainingCompletion.objects.create(
            user=user, kind=kind, completed_on=completed_on
        )
        record(
            "compliance.training.recorded",
            context=context,
            target=training,
            data={"staff": user.public_id, "kind": kind, "expires_on": str(training.expires_on)},
        )
    return training


def _require_security_reviewer(context: AuditContext, what: str) -> Any:
    reviewer = context.actor
    if reviewer is None or not reviewer.is_active or not reviewer.has_perm(REVIEWER_PERMISSION):
        raise ForbiddenError(f"Only a security reviewer {what} disciplinary notes.")
    return reviewer


def record_disciplinary_note(context: AuditContext, user: Any, note: str) -> DisciplinaryNote:
    """Record a note of ``user``'s non-compliance (only a security reviewer may)."""
    reviewer = _require_security_reviewer(context, "records")
    _require_staff(user)
    text = note.strip()
    if not text:
        raise DomainError("The note is empty.")
    with transaction.atomic():
        entry = DisciplinaryNote.objects.create(user=user, recorded_by=reviewer, note=text)
        # The note's words stay out of the trail: they are about a person.
        record(
            "compliance.disciplinary_note.recorded",
            context=context,
            target=entry,
            data={"staff": user.public_id},
        )
    return entry


def read_disciplinary_notes(context: AuditContext, user: Any) -> list[DisciplinaryNote]:
    """Return ``user``'s disciplinary notes, oldest first (only a security reviewer may)."""
    _require_security_reviewer(context, "reads")
    notes = list(
        DisciplinaryNote.objects.filter(user_id=user.pk)
        .select_related("recorded_by")
        .order_by("recorded_at", "id")
    )
    # Every reading is on record, even of no notes: who looked at whom is the evidence.
    record(
        "compliance.disciplinary_note.read",
        context=context,
        target=user,
        data={"staff": user.public_id, "notes": [note.public_id for note in notes]},
    )
    return notes


def erase_expired_disciplinary_notes() -> int:
    """Erase the notes recorded longer ago than their retention; record each; return how many."""
    retention = timedelta(days=settings.AFSPRAAK_DISCIPLINARY_NOTE_RETENTION_DAYS)
    context = AuditContext.system()
    with transaction.atomic():
        expired = list(
            DisciplinaryNote.objects.select_for_update(of=("self",))
            .filter(recorded_at__lt=timezone.now() - retention)
            .select_related("user")
        )
        for note in expired:
            # Recorded before the row goes: the event names the note and the staff member,
            # never the words (as when it was recorded).
            record(
                "compliance.disciplinary_note.erased",
                context=context,
                target=note,
                data={
                    "staff": note.user.public_id,
                    "recorded_at": note.recorded_at.isoformat(),
                    "retention_days": retention.days,
                },
            )
        DisciplinaryNote.objects.filter(pk__in=[note.pk for note in expired]).delete()
    return len(expired)


@db_periodic_task(crontab(hour="6", minute="20"))
def daily_disciplinary_note_erasure() -> int:
    """Erase the disciplinary notes whose retention has passed (see the function above)."""
    return erase_expired_disciplinary_notes()

"""The deletion ledger (control D2): each deletion of data leaves one ``DeletionRecord``.

Domain functions that delete data — an invitee's erasure, a meeting type, a member, an
organization, a user's picture — call :func:`note_deletion` inside their own
transaction, so the record exists exactly when the deletion committed. It lives in this
low layer because every domain app may call it; deciding when a record is certified
"permanently deleted" (no backup that could hold the data is left) belongs to the
backups app, above them all.
"""

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.db import transaction
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import DeletionRecord
from afspraak.publicid import new_public_id


class DeletedKind(StrEnum):
    """What was deleted."""

    INVITEE = "invitee"
    # One booking's copy of an invitee's data (the invitee's own row stays for their others).
    BOOKING_DATA = "booking_data"
    MEETING_TYPE = "meeting_type"
    MEMBER = "member"
    ORGANIZATION = "organization"
    # A user's picture, removed or replaced by another (it belongs to no organization).
    AVATAR = "avatar"


def note_deletion(
    kind: DeletedKind,
    *,
    organization_public_id: str,
    subject_ids: Iterable[str],
    context: AuditContext,
    actor_public_id: str | None = None,
) -> DeletionRecord:
    """Write the ledger record of a deletion in the caller's transaction (public ids only)."""
    if actor_public_id is None:
        actor: Any = context.actor
        actor_public_id = getattr(actor, "public_id", "") if actor is not None else ""
    with transaction.atomic():
        return DeletionRecord.objects.create(
            public_id=new_public_id("del"),
            kind=DeletedKind(kind),
            organization_public_id=organization_public_id,
            subject_ids=sorted(subject_ids),
            deleted_at=timezone.now(),
            actor_public_id=actor_public_id,
        )

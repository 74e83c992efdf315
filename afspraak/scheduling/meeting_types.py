"""Writing meeting types: each change atomic and audited (ids only).

Hosts change their own meeting types (``Permission.HOST``); owners and admins anyone's,
and only they give a meeting type to another host (``Permission.MANAGE_MEETING_TYPES``).
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from afspraak.audit.deletions import DeletedKind, note_deletion
from afspraak.audit.trail import record
from afspraak.errors import NotFoundError
from afspraak.scheduling.access import MEETING_TYPE_NOT_FOUND, require_host_rights
from afspraak.scheduling.models import MeetingType, Visibility
from afspraak.scheduling.schedules import require_hosting_member
from afspraak.tenancy.access import Access

# The fields a host sets; organization, host and public id are fixed by the caller.
EDITABLE_FIELDS = (
    "schedule",
    "name",
    "slug",
    "description",
    "duration_minutes",
    "location_kind",
    "location_detail",
    "visibility",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "minimum_notice_minutes",
    "horizon_days",
    "slot_interval_minutes",
    "limit_per_day",
    "limit_per_week",
    "requires_approval",
    "change_cutoff_minutes",
    "questions",
    "reminder_offsets_minutes",
)
SLUG_TAKEN = "Another meeting type of this organization already uses this web address."


def _record(action: str, access: Access, meeting_type: MeetingType) -> None:
    record(
        f"scheduling.meeting_type.{action}",
        context=access.context,
        organization=access.organization,
        target=meeting_type,
        data={
            "meeting_type": meeting_type.public_id,
            "host": meeting_type.host.public_id,
            "visibility": meeting_type.visibility,
        },
    )


def _require_meeting_type_of(access: Access, meeting_type: MeetingType) -> None:
    """Refuse another organization's meeting type as missing, and one ``access`` may not manage."""
    if meeting_type.organization_id != access.organization.pk:
        raise NotFoundError(MEETING_TYPE_NOT_FOUND)
    require_host_rights(access, meeting_type.host_id)


def _save_checked(meeting_type: MeetingType) -> None:
    """Validate every field and the slug's uniqueness, then save; or raise ValidationError."""
    meeting_type.full_clean(validate_constraints=False)
    taken = (
        MeetingType.objects.filter(organization=meeting_type.organization, slug=meeting_type.slug)
        .exclude(pk=meeting_type.pk)
        .exists()
    )
    if taken:
        raise ValidationError({"slug": SLUG_TAKEN})
    try:
        with transaction.atomic():
            meeting_type.save()
    except IntegrityError:
        # A concurrent save took the slug between the check and the insert.
        raise ValidationError({"slug": SLUG_TAKEN}) from None


def create_meeting_type(access: Access, *, host: Any, values: dict[str, Any]) -> MeetingType:
    """Create a meeting type hosted by ``host``, or raise ValidationError per field."""
    require_host_rights(access, getattr(host, "pk", None))
    fields = {name: values[name] for name in EDITABLE_FIELDS if name in values}
    with access.scope() as organization:
        require_hosting_member(host)
        meeting_type = MeetingType(organization=organization, host=host, **fields)
        _save_checked(meeting_type)
        _record("created", access, meeting_type)
    return meeting_type


def update_meeting_type(
    access: Access, meeting_type: MeetingType, *, host: Any, values: dict[str, Any]
) -> MeetingType:
    """Change a meeting type's host and settings, or raise ValidationError per field.

    Bookings made before keep the times, buffers and questions they were made with.
    """
    _require_meeting_type_of(access, meeting_type)
    require_host_rights(access, getattr(host, "pk", None))
    with access.scope():
        require_hosting_member(host)
        meeting_type.host = host
        for name in EDITABLE_FIELDS:
            if name in values:
                setattr(meeting_type, name, values[name])
        _save_checked(meeting_type)
        _record("updated", access, meeting_type)
    return meeting_type


def retire_meeting_type(access: Access, meeting_type: MeetingType) -> bool:
    """Delete a meeting type without bookings, else disable it; return whether it was deleted.

    Bookings keep pointing at their meeting type (its rules, its cut-off), so one that
    has bookings is only disabled: nobody can book it any more.
    """
    _require_meeting_type_of(access, meeting_type)
    with access.scope():
        if meeting_type.bookings.exists():
            meeting_type.visibility = Visibility.DISABLED
            meeting_type.save(update_fields=["visibility"])
            _record("disabled", access, meeting_type)
            return False
        _record("deleted", access, meeting_type)
        note_deletion(
            DeletedKind.MEETING_TYPE,
            organization_public_id=access.organization.public_id,
            subject_ids=[meeting_type.public_id],
            context=access.context,
        )
        meeting_type.delete()
    return True

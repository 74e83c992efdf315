"""Writing meeting types: each change atomic and audited (ids only)."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from afspraak.audit.trail import record
from afspraak.scheduling.models import MeetingType, Visibility
from afspraak.tenancy.models import Organization

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


def _record(
    action: str, *, actor: Any, meeting_type: MeetingType, request: HttpRequest | None
) -> None:
    record(
        f"scheduling.meeting_type.{action}",
        actor=actor,
        organization=meeting_type.organization,
        target=meeting_type,
        request=request,
        data={
            "meeting_type": meeting_type.public_id,
            "host": meeting_type.host.public_id,
            "visibility": meeting_type.visibility,
        },
    )


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


def create_meeting_type(
    *,
    actor: Any,
    organization: Organization,
    host: Any,
    values: dict[str, Any],
    request: HttpRequest | None = None,
) -> MeetingType:
    """Create a meeting type hosted by ``host``, or raise ValidationError per field."""
    fields = {name: values[name] for name in EDITABLE_FIELDS if name in values}
    meeting_type = MeetingType(organization=organization, host=host, **fields)
    with transaction.atomic():
        _save_checked(meeting_type)
        _record("created", actor=actor, meeting_type=meeting_type, request=request)
    return meeting_type


def update_meeting_type(
    *,
    actor: Any,
    meeting_type: MeetingType,
    host: Any,
    values: dict[str, Any],
    request: HttpRequest | None = None,
) -> MeetingType:
    """Change a meeting type's host and settings, or raise ValidationError per field.

    Bookings made before keep the times, buffers and questions they were made with.
    """
    meeting_type.host = host
    for name in EDITABLE_FIELDS:
        if name in values:
            setattr(meeting_type, name, values[name])
    with transaction.atomic():
        _save_checked(meeting_type)
        _record("updated", actor=actor, meeting_type=meeting_type, request=request)
    return meeting_type


def retire_meeting_type(
    *, actor: Any, meeting_type: MeetingType, request: HttpRequest | None = None
) -> bool:
    """Delete a meeting type without bookings, else disable it; return whether it was deleted.

    Bookings keep pointing at their meeting type (its rules, its cut-off), so one that
    has bookings is only disabled: nobody can book it any more.
    """
    with transaction.atomic():
        if meeting_type.bookings.exists():
            meeting_type.visibility = Visibility.DISABLED
            meeting_type.save(update_fields=["visibility"])
            _record("disabled", actor=actor, meeting_type=meeting_type, request=request)
            return False
        _record("deleted", actor=actor, meeting_type=meeting_type, request=request)
        meeting_type.delete()
    return True

"""Writing schedules and their date overrides: each change atomic and audited (ids only)."""

from datetime import date
from typing import Any

from django.db import transaction
from django.http import HttpRequest

from afspraak.audit.trail import record
from afspraak.scheduling.models import DateOverride, Schedule
from afspraak.tenancy.models import Organization

SCHEDULE_IN_USE = "Meeting types use this schedule: give them another schedule first."


class ScheduleInUseError(Exception):
    """The schedule cannot be deleted while meeting types use it."""

    def __init__(self) -> None:
        super().__init__(SCHEDULE_IN_USE)
        self.message = SCHEDULE_IN_USE


def _record(
    action: str, *, actor: Any, schedule: Schedule, request: HttpRequest | None, **data: Any
) -> None:
    record(
        f"scheduling.{action}",
        actor=actor,
        organization=schedule.organization,
        target=schedule,
        request=request,
        data={"schedule": schedule.public_id, "host": schedule.host.public_id} | data,
    )


def create_schedule(
    *,
    actor: Any,
    organization: Organization,
    host: Any,
    name: str,
    time_zone: str,
    weekly_hours: dict[str, list[list[str]]],
    request: HttpRequest | None = None,
) -> Schedule:
    """Create a host's named weekly schedule, or raise ValidationError per field."""
    schedule = Schedule(
        organization=organization,
        host=host,
        name=name,
        time_zone=time_zone,
        weekly_hours=weekly_hours,
    )
    schedule.full_clean()
    with transaction.atomic():
        schedule.save()
        _record("schedule.created", actor=actor, schedule=schedule, request=request)
    return schedule


def update_schedule(
    *,
    actor: Any,
    schedule: Schedule,
    name: str,
    time_zone: str,
    weekly_hours: dict[str, list[list[str]]],
    request: HttpRequest | None = None,
) -> Schedule:
    """Change a schedule's name, time zone and weekly hours, or raise ValidationError."""
    schedule.name, schedule.time_zone, schedule.weekly_hours = name, time_zone, weekly_hours
    schedule.full_clean()
    with transaction.atomic():
        schedule.save(update_fields=["name", "time_zone", "weekly_hours"])
        _record("schedule.updated", actor=actor, schedule=schedule, request=request)
    return schedule


def delete_schedule(*, actor: Any, schedule: Schedule, request: HttpRequest | None = None) -> None:
    """Delete a schedule and its overrides; refuse while a meeting type uses it."""
    with transaction.atomic():
        if schedule.meeting_types.exists():
            raise ScheduleInUseError
        _record("schedule.deleted", actor=actor, schedule=schedule, request=request)
        schedule.delete()


def set_date_override(
    *,
    actor: Any,
    schedule: Schedule,
    day: date,
    ranges: list[list[str]],
    request: HttpRequest | None = None,
) -> DateOverride:
    """Give ``schedule`` other hours on ``day`` (none: unavailable), replacing any set before."""
    with transaction.atomic():
        override = DateOverride.objects.filter(schedule=schedule, date=day).first()
        if override is None:
            override = DateOverride(organization=schedule.organization, schedule=schedule, date=day)
        override.ranges = ranges
        override.full_clean()
        override.save()
        _record(
            "schedule.override_set",
            actor=actor,
            schedule=schedule,
            request=request,
            override=override.public_id,
        )
    return override


def remove_date_override(
    *, actor: Any, override: DateOverride, request: HttpRequest | None = None
) -> None:
    """Remove a date override: the weekly hours apply on its date again."""
    with transaction.atomic():
        _record(
            "schedule.override_removed",
            actor=actor,
            schedule=override.schedule,
            request=request,
            override=override.public_id,
        )
        override.delete()

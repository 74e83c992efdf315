"""Writing schedules and their date overrides: each change atomic and audited (ids only).

Hosts change their own schedules (``Permission.HOST``); owners and admins anyone's
(``Permission.MANAGE_MEETING_TYPES``). Every function checks that through the ``Access``
it is given and runs in the organization's tenant context.
"""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from afspraak.audit.trail import record
from afspraak.errors import ConflictError, NotFoundError
from afspraak.scheduling.access import (
    SCHEDULE_NOT_FOUND,
    hosts_of_organization,
    require_host_rights,
)
from afspraak.scheduling.models import DateOverride, Schedule
from afspraak.tenancy.access import Access

SCHEDULE_IN_USE = "Meeting types use this schedule: give them another schedule first."
NOT_A_HOST = "Choose a member of this organization who may host."


class ScheduleInUseError(ConflictError):
    """The schedule cannot be deleted while meeting types use it."""

    def __init__(self) -> None:
        super().__init__(SCHEDULE_IN_USE)


def _record(action: str, access: Access, schedule: Schedule, **data: Any) -> None:
    record(
        f"scheduling.{action}",
        context=access.context,
        organization=access.organization,
        target=schedule,
        data={"schedule": schedule.public_id, "host": schedule.host.public_id} | data,
    )


def _require_schedule_of(access: Access, schedule: Schedule) -> None:
    """Refuse a schedule of another organization as missing, and one ``access`` may not manage."""
    if schedule.organization_id != access.organization.pk:
        raise NotFoundError(SCHEDULE_NOT_FOUND)
    require_host_rights(access, schedule.host_id)


def require_hosting_member(host: Any) -> None:
    """Refuse (per field) a host who is not a member allowed to host (call inside the scope)."""
    if host is None or not hosts_of_organization().filter(pk=host.pk).exists():
        raise ValidationError({"host": NOT_A_HOST})


def create_schedule(
    access: Access,
    *,
    host: Any,
    name: str,
    time_zone: str,
    weekly_hours: dict[str, list[list[str]]],
) -> Schedule:
    """Create a host's named weekly schedule, or raise ValidationError per field."""
    require_host_rights(access, getattr(host, "pk", None))
    with access.scope() as organization:
        require_hosting_member(host)
        schedule = Schedule(
            organization=organization,
            host=host,
            name=name,
            time_zone=time_zone,
            weekly_hours=weekly_hours,
        )
        schedule.full_clean()
        schedule.save()
        _record("schedule.created", access, schedule)
    return schedule


def update_schedule(
    access: Access,
    schedule: Schedule,
    *,
    name: str,
    time_zone: str,
    weekly_hours: dict[str, list[list[str]]],
) -> Schedule:
    """Change a schedule's name, time zone and weekly hours, or raise ValidationError."""
    _require_schedule_of(access, schedule)
    with access.scope():
        schedule.name, schedule.time_zone, schedule.weekly_hours = name, time_zone, weekly_hours
        schedule.full_clean()
        schedule.save(update_fields=["name", "time_zone", "weekly_hours"])
        _record("schedule.updated", access, schedule)
    return schedule


def delete_schedule(access: Access, schedule: Schedule) -> None:
    """Delete a schedule and its overrides; refuse while a meeting type uses it."""
    _require_schedule_of(access, schedule)
    with access.scope():
        if schedule.meeting_types.exists():
            raise ScheduleInUseError
        _record("schedule.deleted", access, schedule)
        schedule.delete()


def set_date_override(
    access: Access, schedule: Schedule, *, day: date, ranges: list[list[str]]
) -> DateOverride:
    """Give ``schedule`` other hours on ``day`` (none: unavailable), replacing any set before."""
    _require_schedule_of(access, schedule)
    with access.scope():
        override = DateOverride.objects.filter(schedule=schedule, date=day).first()
        if override is None:
            override = DateOverride(organization=schedule.organization, schedule=schedule, date=day)
        override.ranges = ranges
        override.full_clean()
        override.save()
        _record("schedule.override_set", access, schedule, override=override.public_id)
    return override


def remove_date_override(access: Access, override: DateOverride) -> None:
    """Remove a date override: the weekly hours apply on its date again."""
    _require_schedule_of(access, override.schedule)
    with access.scope():
        _record("schedule.override_removed", access, override.schedule, override=override.public_id)
        override.delete()

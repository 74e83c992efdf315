"""Access helpers for schedules and meeting types: hosts see their own, managers everyone's.

A member who may host (``Permission.HOST``) manages only what they host;
``Permission.MANAGE_MEETING_TYPES`` (owners, admins) reaches every host's. Anything
else, another organization's object included, is the same ``NotFoundError`` as an id
that does not exist. Call the query helpers inside ``access.scope()``
(``organization_view`` opens it).
"""

from typing import Any

from django.db.models import QuerySet

from afspraak.accounts.models import User
from afspraak.errors import NotFoundError
from afspraak.scheduling.models import DateOverride, MeetingType, Schedule
from afspraak.tenancy.access import Access
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import PERMISSIONS, Permission

SCHEDULE_NOT_FOUND = "No such schedule."
OVERRIDE_NOT_FOUND = "No such date override."
MEETING_TYPE_NOT_FOUND = "No such meeting type."


def manages_all_hosts(access: Access) -> bool:
    """Tell whether ``access`` may manage every host's schedules and meeting types."""
    return access.has(Permission.MANAGE_MEETING_TYPES)


def require_host_rights(access: Access, host_id: Any) -> None:
    """Refuse unless ``access`` may manage what ``host_id`` hosts: their own, or everyone's."""
    actor = access.actor
    if actor is not None and actor.pk == host_id:
        access.require(Permission.HOST)
    else:
        access.require(Permission.MANAGE_MEETING_TYPES)


def hosts_of_organization() -> QuerySet[User]:
    """Return the users of the current organization whose role lets them host."""
    roles = [role for role, permissions in PERMISSIONS.items() if Permission.HOST in permissions]
    return User.objects.filter(
        pk__in=Membership.objects.filter(role__in=roles).values("user_id")
    ).order_by("email")


def schedules_for(access: Access) -> QuerySet[Schedule]:
    """Return the schedules ``access`` may see and change."""
    schedules = Schedule.objects.select_related("host").order_by("host__email", "name", "id")
    if manages_all_hosts(access):
        return schedules
    access.require(Permission.HOST)
    return schedules.filter(host_id=access.actor.pk)


def meeting_types_for(access: Access) -> QuerySet[MeetingType]:
    """Return the meeting types ``access`` may see and change."""
    types = MeetingType.objects.select_related("host", "schedule").order_by(
        "host__email", "name", "id"
    )
    if manages_all_hosts(access):
        return types
    access.require(Permission.HOST)
    return types.filter(host_id=access.actor.pk)


def get_schedule_for(access: Access, public_id: Any) -> Schedule:
    """Return the schedule ``public_id`` if ``access`` may manage it, else NotFoundError."""
    schedule = schedules_for(access).filter(public_id=str(public_id)).first()
    if schedule is None:
        raise NotFoundError(SCHEDULE_NOT_FOUND)
    return schedule


def get_override_for(schedule: Schedule, public_id: Any) -> DateOverride:
    """Return the override ``public_id`` of ``schedule``, else NotFoundError."""
    override = DateOverride.objects.filter(schedule=schedule, public_id=str(public_id)).first()
    if override is None:
        raise NotFoundError(OVERRIDE_NOT_FOUND)
    return override


def get_meeting_type_for(access: Access, public_id: Any) -> MeetingType:
    """Return the meeting type ``public_id`` if ``access`` may manage it, else NotFoundError."""
    meeting_type = meeting_types_for(access).filter(public_id=str(public_id)).first()
    if meeting_type is None:
        raise NotFoundError(MEETING_TYPE_NOT_FOUND)
    return meeting_type

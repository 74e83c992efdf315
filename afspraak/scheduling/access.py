"""Access helpers for schedules and meeting types: hosts see their own, managers everyone's.

A member who may host manages only what they host; ``can_manage_meeting_types``
(owners, admins) reaches every host's. Anything else, another organization's object
included, is the same 404 as an id that does not exist. Call these inside the
organization's context (``organization_view`` opens it).
"""

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from afspraak.accounts.models import User
from afspraak.scheduling.models import DateOverride, MeetingType, Schedule
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import PERMISSIONS, role_has_permission

SCHEDULE_NOT_FOUND = "No such schedule."
OVERRIDE_NOT_FOUND = "No such date override."
MEETING_TYPE_NOT_FOUND = "No such meeting type."


def manages_all_hosts(membership: Membership) -> bool:
    """Tell whether the member may manage every host's schedules and meeting types."""
    return role_has_permission(membership.role, "can_manage_meeting_types")


def hosts_of_organization() -> QuerySet[User]:
    """Return the users of the current organization whose role lets them host."""
    roles = [role for role, permissions in PERMISSIONS.items() if "can_host" in permissions]
    return User.objects.filter(
        pk__in=Membership.objects.filter(role__in=roles).values("user_id")
    ).order_by("email")


def schedules_for(membership: Membership) -> QuerySet[Schedule]:
    """Return the schedules ``membership`` may see and change."""
    schedules = Schedule.objects.select_related("host").order_by("host__email", "name", "id")
    if manages_all_hosts(membership):
        return schedules
    return schedules.filter(host_id=membership.user_id)


def meeting_types_for(membership: Membership) -> QuerySet[MeetingType]:
    """Return the meeting types ``membership`` may see and change."""
    types = MeetingType.objects.select_related("host", "schedule").order_by(
        "host__email", "name", "id"
    )
    if manages_all_hosts(membership):
        return types
    return types.filter(host_id=membership.user_id)


def get_schedule_for(membership: Membership, public_id: Any) -> Schedule:
    """Return the schedule ``public_id`` if ``membership`` may manage it, else 404."""
    schedule = schedules_for(membership).filter(public_id=str(public_id)).first()
    if schedule is None:
        raise Http404(SCHEDULE_NOT_FOUND)
    return schedule


def get_override_for(schedule: Schedule, public_id: Any) -> DateOverride:
    """Return the override ``public_id`` of ``schedule``, else 404."""
    override = DateOverride.objects.filter(schedule=schedule, public_id=str(public_id)).first()
    if override is None:
        raise Http404(OVERRIDE_NOT_FOUND)
    return override


def get_meeting_type_for(membership: Membership, public_id: Any) -> MeetingType:
    """Return the meeting type ``public_id`` if ``membership`` may manage it, else 404."""
    meeting_type = meeting_types_for(membership).filter(public_id=str(public_id)).first()
    if meeting_type is None:
        raise Http404(MEETING_TYPE_NOT_FOUND)
    return meeting_type

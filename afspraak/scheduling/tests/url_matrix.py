"""URL-by-role entries of the schedule and meeting-type pages (collected by the tenancy tests).

Written from the issue's roles: owners, admins and members host (members their own
schedules and meeting types, owners and admins everyone's); auditors host nothing.
The objects belong to the member, so every host role reaches them.
"""

from datetime import date

from afspraak.tenancy.roles import Role
from afspraak.testing.factories import (
    DateOverrideFactory,
    MeetingTypeFactory,
    ScheduleFactory,
)

HOSTS = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})


def _nothing(tenants):
    return {}, {}


def _members_schedule(tenants):
    return ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)


def _a_schedule(tenants):
    return {"schedule_id": _members_schedule(tenants).public_id}, {}


def _an_override(tenants):
    schedule = _members_schedule(tenants)
    override = DateOverrideFactory.create(schedule=schedule, date=date(2030, 1, 2))
    return {"schedule_id": schedule.public_id, "override_id": override.public_id}, {}


def _a_new_override(tenants):
    return (
        {"schedule_id": _members_schedule(tenants).public_id},
        {"date": "2030-01-02", "ranges": "10:00-12:00"},
    )


def _a_meeting_type(tenants):
    meeting_type = MeetingTypeFactory.create(schedule=_members_schedule(tenants))
    return {"meeting_type_id": meeting_type.public_id}, {}


MATRIX = {
    "scheduling:schedules": ("get", HOSTS, _nothing),
    "scheduling:schedule_create": ("get", HOSTS, _nothing),
    "scheduling:schedule_edit": ("get", HOSTS, _a_schedule),
    "scheduling:schedule_delete": ("post", HOSTS, _a_schedule),
    "scheduling:override_set": ("post", HOSTS, _a_new_override),
    "scheduling:override_remove": ("post", HOSTS, _an_override),
    "scheduling:meeting_types": ("get", HOSTS, _nothing),
    "scheduling:meeting_type_create": ("get", HOSTS, _nothing),
    "scheduling:meeting_type_edit": ("get", HOSTS, _a_meeting_type),
    "scheduling:meeting_type_delete": ("post", HOSTS, _a_meeting_type),
}

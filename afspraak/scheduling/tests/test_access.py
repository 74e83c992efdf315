"""Schedules and meeting types refuse, through the ``Access`` given, what a role does not allow."""

import pytest

from afspraak.audit.models import AuditEvent, Outcome
from afspraak.scheduling.meeting_types import update_meeting_type
from afspraak.scheduling.models import Schedule
from afspraak.scheduling.schedules import create_schedule, update_schedule
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Permission, Role
from afspraak.testing.access import member_of
from afspraak.testing.factories import MeetingTypeFactory, MembershipFactory, ScheduleFactory

pytestmark = pytest.mark.django_db

OFFICE_HOURS = {"0": [["09:00", "17:00"]]}


def test_an_auditor_cannot_create_a_schedule_and_nothing_is_written():
    schedule = ScheduleFactory.create()
    organization = schedule.organization
    auditor = MembershipFactory.create(organization=organization, role=Role.AUDITOR).user

    with pytest.raises(AccessDeniedError) as refused:
        create_schedule(
            member_of(organization, auditor),
            host=auditor,
            name="Mine",
            time_zone="Europe/Amsterdam",
            weekly_hours=OFFICE_HOURS,
        )

    assert refused.value.permission == Permission.HOST
    with organization_context(organization):
        assert list(Schedule.objects.values_list("pk", flat=True)) == [schedule.pk]
    assert not AuditEvent.objects.filter(action="scheduling.schedule.created").exists()


def test_a_member_cannot_change_another_hosts_schedule_or_meeting_type():
    meeting_type = MeetingTypeFactory.create()
    organization = meeting_type.organization
    member = MembershipFactory.create(organization=organization, role=Role.MEMBER).user
    access = member_of(organization, member)

    with pytest.raises(AccessDeniedError) as refused:
        update_schedule(
            access,
            meeting_type.schedule,
            name="Taken over",
            time_zone="UTC",
            weekly_hours=OFFICE_HOURS,
        )
    assert refused.value.permission == Permission.MANAGE_MEETING_TYPES
    with pytest.raises(AccessDeniedError):
        update_meeting_type(access, meeting_type, host=member, values={"name": "Taken over"})
    with organization_context(organization):
        meeting_type.refresh_from_db()
        meeting_type.schedule.refresh_from_db()
    assert meeting_type.name != "Taken over"
    assert meeting_type.schedule.name == "Office hours"
    assert not AuditEvent.objects.filter(action__startswith="scheduling.").exists()


def test_an_owner_changes_a_members_schedule_and_it_is_audited():
    schedule = ScheduleFactory.create()
    organization = schedule.organization
    owner = MembershipFactory.create(organization=organization, role=Role.OWNER).user

    update_schedule(
        member_of(organization, owner),
        schedule,
        name="Mornings",
        time_zone="Europe/Amsterdam",
        weekly_hours=OFFICE_HOURS,
    )

    event = AuditEvent.objects.get(action="scheduling.schedule.updated")
    assert (event.actor, event.organization) == (owner, organization)
    assert event.data["host"] == schedule.host.public_id


def test_a_page_refused_for_a_missing_permission_is_403_and_audited(client):
    schedule = ScheduleFactory.create()
    organization = schedule.organization
    auditor = MembershipFactory.create(organization=organization, role=Role.AUDITOR).user
    client.force_login(auditor)

    response = client.get(f"/o/{organization.slug}/schedules/")

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="tenancy.access.denied")
    assert (event.actor, event.organization, event.outcome) == (
        auditor,
        organization,
        Outcome.DENIED,
    )
    assert event.data["permission"] == Permission.HOST

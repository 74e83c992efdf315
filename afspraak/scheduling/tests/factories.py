"""Factories for schedules and meeting types (hosts are members of the organization)."""

import factory

from afspraak.scheduling.models import DateOverride, Location, MeetingType, Schedule
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.tests.factories import MembershipFactory, OrganizationFactory

OFFICE_HOURS = [["09:00", "17:00"]]


class _InOrganization:
    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Tenant rows go in inside their organization's context, as the application writes.
        with organization_context(kwargs["organization"]):
            # super() is the model factory's _create, mixed in after: mypy cannot see it.
            return super()._create(model_class, *args, **kwargs)  # type: ignore[misc]


class ScheduleFactory(_InOrganization, factory.django.DjangoModelFactory[Schedule]):
    """Weekdays 09:00-17:00 in Amsterdam, for a member of a new organization."""

    class Meta:
        model = Schedule

    organization = factory.SubFactory(OrganizationFactory)
    host = factory.LazyAttribute(
        lambda o: MembershipFactory.create(organization=o.organization, role="member").user
    )
    name = "Office hours"
    time_zone = "Europe/Amsterdam"
    weekly_hours = factory.LazyFunction(lambda: {str(day): OFFICE_HOURS for day in range(5)})


class DateOverrideFactory(_InOrganization, factory.django.DjangoModelFactory[DateOverride]):
    class Meta:
        model = DateOverride

    schedule = factory.SubFactory(ScheduleFactory)
    organization = factory.SelfAttribute("schedule.organization")
    ranges = factory.LazyFunction(list)


class MeetingTypeFactory(_InOrganization, factory.django.DjangoModelFactory[MeetingType]):
    """A public 30-minute video call, bookable from one hour ahead, 60 days out, no reminders."""

    class Meta:
        model = MeetingType

    schedule = factory.SubFactory(ScheduleFactory)
    organization = factory.SelfAttribute("schedule.organization")
    host = factory.SelfAttribute("schedule.host")
    name = factory.Sequence(lambda n: f"Intake call {n}")
    slug = factory.Sequence(lambda n: f"intake-{n}")
    duration_minutes = 30
    location_kind = Location.VIDEO
    minimum_notice_minutes = 60
    horizon_days = 60
    change_cutoff_minutes = 60

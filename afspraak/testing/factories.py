"""Factories for every app's test data, made the way the application makes it.

Tenant rows go in inside their organization's context, as the application writes: on
PostgreSQL the row-level-security policies accept them only there.
"""

import secrets
from datetime import datetime
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.bookings.booking import InviteeDetails, book_meeting
from afspraak.bookings.models import Booking
from afspraak.crypto.keysets import create_organization_keysets
from afspraak.scheduling.models import DateOverride, Location, MeetingType, Schedule
from afspraak.tenancy.access import access_for_visitor
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.invitations import INVITATION_LIFETIME, hash_token
from afspraak.tenancy.models import Invitation, Membership, Organization
from afspraak.tenancy.roles import Role

# --- People -------------------------------------------------------------------------------

# Test data only: every factory-made user signs in with it.
DEFAULT_PASSWORD = "quiet lanterns drift over amber canals"  # noqa: S105


def _set_password(user: User, create: bool, extracted: str | None, **kwargs: object) -> None:
    user.set_password(extracted or DEFAULT_PASSWORD)
    if create:
        user.save()


def _add_verified_email(user: User, create: bool, extracted: bool | None, **kwargs: object) -> None:
    if create and extracted is not False:
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    # Not Faker: a random real name could collide with the words of a password test.
    full_name = factory.Sequence(lambda n: f"Pat Example{n}")
    password = factory.PostGeneration(_set_password)
    verified_email = factory.PostGeneration(_add_verified_email)


class StaffUserFactory(UserFactory):
    """An operator's employee: staff, not a superuser (who would hold every permission and
    pass every permission check a test means to exercise); ask for one explicitly."""

    is_staff = True


# --- Organizations, memberships, invitations ----------------------------------------------


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        organization = super()._create(model_class, *args, **kwargs)
        # The keysets table is a tenant table: on PostgreSQL its rows go in only inside the
        # organization's context.
        with organization_context(organization):
            create_organization_keysets(organization)
        return organization


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Inside the organization's context, as the application writes: on PostgreSQL the
        # row-level-security policy accepts the row only there.
        with organization_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class InvitationFactory(factory.django.DjangoModelFactory[Invitation]):
    """A pending invitation (its token is random and not kept: use ``invite_member`` for a link)."""

    class Meta:
        model = Invitation
        exclude = ("token",)

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.MEMBER
    token = factory.LazyAttribute(
        lambda o: f"{o.organization.public_id}.{secrets.token_urlsafe(32)}"
    )
    token_hash = factory.LazyAttribute(lambda o: hash_token(o.token))
    invited_by = None
    expires_at = factory.LazyFunction(lambda: timezone.now() + INVITATION_LIFETIME)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with organization_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


# --- Schedules and meeting types ----------------------------------------------------------

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


# --- Bookings -----------------------------------------------------------------------------


def invitee_details(n: int = 0, **overrides: Any) -> InviteeDetails:
    """Return an invitee's booking details; ``n`` makes the e-mail address distinct."""
    values: dict[str, Any] = {
        "name": f"Invitee {n}",
        "email": f"invitee{n}@example.test",
        "timezone": "America/New_York",
    } | overrides
    return InviteeDetails(**values)


def book(
    meeting_type: MeetingType, start: datetime, *, now: datetime | None = None, **details: Any
) -> Booking:
    """Book ``start`` through the booking flow, as a visitor of the public pages."""
    return book_meeting(
        access_for_visitor(meeting_type.organization, AuditContext()),
        meeting_type,
        start=start,
        details=invitee_details(**details),
        now=now,
    )

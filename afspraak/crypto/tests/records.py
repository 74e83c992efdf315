"""Records for the encryption tests: organizations with keysets, and their encrypted rows."""

from datetime import UTC, datetime, timedelta
from typing import cast

from afspraak.bookings.models import Booking, Invitee
from afspraak.crypto.keysets import create_organization_keysets
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Invitation, Organization
from afspraak.testing.factories import (
    InvitationFactory,
    MeetingTypeFactory,
    OrganizationFactory,
    ScheduleFactory,
)


def make_organization(**kwargs) -> Organization:
    """Create an organization with its keysets (whether or not the factory makes them)."""
    organization = cast(Organization, OrganizationFactory(**kwargs))
    create_organization_keysets(organization)
    return organization


def make_invitee(organization: Organization, **values) -> Invitee:
    """Save an invitee of ``organization`` with plausible values, overridden by ``values``."""
    fields = {
        "name": "Anna de Vries",
        "email": "anna@example.test",
        "phone": "+31 6 1234 5678",
        "notes": "Prefers mornings",
        "answers": {"reason": "check-up", "first_visit": True},
    }
    fields.update(values)
    with organization_context(organization):
        invitee = Invitee(organization=organization, **fields)
        invitee.save()
    return invitee


def make_booking(invitee: Invitee, **values) -> Booking:
    """Save a booking of ``invitee`` (with a meeting type of its own), with ``values``."""
    organization = invitee.organization
    meeting_type = MeetingTypeFactory.create(
        organization=organization, schedule=ScheduleFactory.create(organization=organization)
    )
    start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
    end = start + timedelta(minutes=30)
    with organization_context(organization):
        booking = Booking(
            organization=organization,
            meeting_type=meeting_type,
            host=meeting_type.host,
            invitee=invitee,
            start=start,
            end=end,
            blocked_start=start,
            blocked_end=end,
            invitee_timezone="Europe/Amsterdam",
            **values,
        )
        booking.save()
    return booking


def make_invitation(organization: Organization, email: str) -> Invitation:
    """Save a pending invitation of ``organization`` to ``email``."""
    return cast(Invitation, InvitationFactory(organization=organization, email=email))


def load_invitee(invitee: Invitee) -> Invitee:
    """Read the invitee back from the database, as a new request would."""
    with organization_context(invitee.organization):
        return Invitee.objects.get(pk=invitee.pk)


def read(invitee: Invitee, name: str) -> object:
    """Read one field of the invitee as stored now, inside its organization's context."""
    with organization_context(invitee.organization):
        return getattr(Invitee.objects.get(pk=invitee.pk), name)

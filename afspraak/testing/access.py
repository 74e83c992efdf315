"""``Access`` objects for tests that call domain functions directly, as an edge would build them.

``member_access(membership)`` acts as that member and ``member_of(organization, user)``
as any user in any organization (both take ``reauthenticated=True`` for the sensitive
changes that need a fresh login), ``system_access(organization)`` as a command
or job, ``visitor_access`` as anyone on the public pages and ``invitee_access`` as the
holder of one booking's link. The fixtures give the people of ``tenants`` theirs.
"""

from dataclasses import replace
from typing import Any

import pytest

from afspraak.audit.context import AuditContext
from afspraak.bookings.models import Booking
from afspraak.tenancy.access import (
    Access,
    access_for_invitee,
    access_for_member,
    access_for_system,
    access_for_visitor,
)
from afspraak.tenancy.models import Membership, Organization
from afspraak.testing.tenants import Tenants


def member_access(membership: Membership, *, reauthenticated: bool = False) -> Access:
    """Return ``membership``'s access to its organization, as a page would build it."""
    return member_of(membership.organization, membership.user, reauthenticated=reauthenticated)


def system_access(organization: Organization) -> Access:
    """Return the access of an operator's command or a job in ``organization``."""
    return access_for_system(organization, AuditContext.system())


def visitor_access(organization: Organization) -> Access:
    """Return the access of an anonymous visitor of ``organization``'s booking pages."""
    return access_for_visitor(organization, AuditContext())


def invitee_access(booking: Booking) -> Access:
    """Return the access the signed link of ``booking`` gives its invitee."""
    return access_for_invitee(booking.organization, booking.public_id, AuditContext())


def member_of(organization: Organization, user: Any, *, reauthenticated: bool = False) -> Access:
    """Return ``user``'s access as a member of ``organization``, outside a request."""
    access = access_for_member(user, organization, AuditContext.system(user))
    return replace(access, reauthenticated=reauthenticated)


def host_of(booking_or_type: Any) -> Access:
    """Return the access of the host of a booking or meeting type, as a member."""
    return member_of(booking_or_type.organization, booking_or_type.host)


@pytest.fixture
def owner_access(tenants: Tenants) -> Access:
    """Organization A's owner, without a fresh login."""
    return member_access(tenants.owner)


@pytest.fixture
def admin_access(tenants: Tenants) -> Access:
    """Organization A's admin, without a fresh login."""
    return member_access(tenants.admin)


@pytest.fixture
def host_access(tenants: Tenants) -> Access:
    """Organization A's member (the role that hosts and nothing more)."""
    return member_access(tenants.member)


@pytest.fixture
def auditor_access(tenants: Tenants) -> Access:
    """Organization A's auditor."""
    return member_access(tenants.auditor)


@pytest.fixture
def system_access_a(tenants: Tenants) -> Access:
    """A command or job acting in organization A."""
    return system_access(tenants.a)

"""URL-by-role entries of the host's booking pages (collected by the tenancy tests).

Written from the issue's roles: owners, admins and members host and see bookings
(members their own, owners and admins everyone's); auditors see no bookings, which
are personal data. The bookings belong to the member, so every host role reaches them.
"""

from datetime import timedelta

from django.utils import timezone

from afspraak.bookings.booking import free_slots
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Role
from afspraak.testing.access import visitor_access
from afspraak.testing.factories import MeetingTypeFactory, ScheduleFactory, book

HOSTS = frozenset({Role.OWNER, Role.ADMIN, Role.MEMBER})


def _nothing(tenants):
    return {}, {}


def booking_of(organization, host, *, requires_approval: bool = False, **details):
    """Book the first free slot from tomorrow on (past any cut-off) of a new meeting type."""
    schedule = ScheduleFactory.create(organization=organization, host=host)
    meeting_type = MeetingTypeFactory.create(schedule=schedule, requires_approval=requires_approval)
    now = timezone.now()
    with organization_context(organization):
        start = free_slots(
            visitor_access(meeting_type.organization),
            meeting_type,
            window_start=now + timedelta(days=1),
            window_end=now + timedelta(days=14),
            now=now,
        )[0]
    return book(meeting_type, start, now=now, **details)


def members_booking(tenants, *, requires_approval: bool = False):
    """Book a meeting with the member of organization A."""
    return booking_of(tenants.a, tenants.member.user, requires_approval=requires_approval)


def _a_booking(tenants):
    return {"booking_id": members_booking(tenants).public_id}, {}


def _a_booking_to_cancel(tenants):
    return {"booking_id": members_booking(tenants).public_id}, {"reason": "Ill, sorry."}


def _a_pending_booking(tenants):
    return {"booking_id": members_booking(tenants, requires_approval=True).public_id}, {}


MATRIX = {
    "dashboard:bookings": ("get", HOSTS, _nothing),
    "dashboard:erasures": ("get", frozenset({Role.OWNER, Role.ADMIN}), _nothing),
    "dashboard:booking": ("get", HOSTS, _a_booking),
    "dashboard:booking_cancel": ("post", HOSTS, _a_booking_to_cancel),
    "dashboard:booking_ask_to_reschedule": ("post", HOSTS, _a_booking),
    "dashboard:booking_approve": ("post", HOSTS, _a_pending_booking),
    "dashboard:booking_decline": ("post", HOSTS, _a_pending_booking),
}


PUBLIC = {
    "bookings:zone_options": "the time-zone list the public pickers load, the same for everyone "
    "(bookings/tests/test_zone_list.py)",
}

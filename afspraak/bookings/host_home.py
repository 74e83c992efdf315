"""The signed-in host's home page (``/``): what needs them, their links, and what is left to set up.

It shows the current organization (the one chosen with "Make this my current
organization", else the only one) through the member's own ``Access``, so it shows no
more than that organization's pages would. A member the organization refuses for now
(a second factor or a fresh login it requires) sees their organizations only; the
organization's own pages explain and record the refusal.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from allauth.mfa.utils import is_mfa_enabled
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from afspraak.bookings.host_access import bookings_for, filter_bookings
from afspraak.bookings.models import Booking
from afspraak.scheduling.models import MeetingType, Schedule
from afspraak.tenancy.access import (
    Access,
    AccessDeniedError,
    memberships_of,
    request_access_in_context,
)
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership
from afspraak.tenancy.pages import CURRENT_ORGANIZATION_SESSION_KEY
from afspraak.tenancy.pending_invitations import pending_invitations
from afspraak.tenancy.roles import Permission

SHOWN = 5


@dataclass(frozen=True)
class Step:
    """One item of a new host's setup checklist."""

    title: str
    done: bool
    url: str
    action: str


@dataclass(frozen=True)
class HostHome:
    """What the home page shows of one organization to one host."""

    upcoming: list[dict[str, Any]]
    upcoming_count: int
    pending: list[dict[str, Any]]
    pending_count: int
    links: list[tuple[MeetingType, str]]
    checklist: list[Step]

    @property
    def is_set_up(self) -> bool:
        """Tell whether every checklist step is done."""
        return all(step.done for step in self.checklist)


def _local(booking: Booking) -> dict[str, Any]:
    zone = booking.meeting_type.schedule.zone
    return {
        "booking": booking,
        "start": timezone.localtime(booking.start, zone),
        "zone": zone.key,
    }


def _current_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    chosen = request.session.get(CURRENT_ORGANIZATION_SESSION_KEY)
    for membership in memberships:
        if membership.organization.public_id == chosen:
            return membership
    return memberships[0] if len(memberships) == 1 else None


def host_home_for(access: Access, now: datetime, *, absolute: Callable[[str], str]) -> HostHome:
    """Return the host's bookings needing them, their booking links and their setup steps.

    ``absolute`` makes a path the full address the host shares (the page gives the one its
    visitor used).
    """
    access.require(Permission.HOST)
    organization, actor = access.organization, access.actor
    with access.scope():
        mine = bookings_for(access).filter(host_id=actor.pk)
        upcoming = filter_bookings(
            mine, organization=organization, tab="upcoming", email="", now=now
        )
        pending = filter_bookings(mine, organization=organization, tab="pending", email="", now=now)
        types = list(
            MeetingType.objects.filter(host_id=actor.pk).select_related("schedule").order_by("name")
        )
        has_schedule = Schedule.objects.filter(host_id=actor.pk).exists()
        has_bookings = mine.exists()
        home = HostHome(
            upcoming=[_local(booking) for booking in upcoming[:SHOWN]],
            upcoming_count=upcoming.count(),
            pending=[_local(booking) for booking in pending[:SHOWN]],
            pending_count=pending.count(),
            links=[
                (
                    meeting_type,
                    absolute(
                        reverse(
                            "bookings:meeting_type",
                            kwargs={"org_slug": organization.slug, "type_slug": meeting_type.slug},
                        )
                    ),
                )
                for meeting_type in types
                if meeting_type.is_bookable
            ],
            checklist=_checklist(
                access, has_schedule=has_schedule, types=types, has_bookings=has_bookings
            ),
        )
    return home


def _checklist(
    access: Access, *, has_schedule: bool, types: list[MeetingType], has_bookings: bool
) -> list[Step]:
    slug = access.organization.slug
    return [
        Step(
            "Add your name",
            bool(access.actor.full_name.strip()),
            reverse("account_profile"),
            "Open your profile",
        ),
        Step(
            "Set your working hours",
            has_schedule,
            reverse("scheduling:schedule_create", kwargs={"org_slug": slug}),
            "Create a schedule",
        ),
        Step(
            "Create a meeting type",
            bool(types),
            reverse("scheduling:meeting_type_create", kwargs={"org_slug": slug}),
            "Create a meeting type",
        ),
        Step(
            "Turn on two-factor authentication",
            is_mfa_enabled(access.actor),
            reverse("mfa_index"),
            "Set up two-factor",
        ),
        Step(
            "Share your booking link",
            has_bookings,
            "#links",
            "Copy a link below",
        ),
    ]


def landing(request: HttpRequest) -> HttpResponse:
    """Show the landing page, or the signed-in host's home: bookings, links, setup."""
    memberships = memberships_of(request.user)
    current = _current_membership(request, memberships)
    home = None
    if current is not None:
        organization = current.organization
        with organization_context(organization, user=request.user):
            try:
                access = request_access_in_context(request, organization, members_only=True)
            except AccessDeniedError:
                access = None
            if access is not None and access.has(Permission.HOST):
                home = host_home_for(access, timezone.now(), absolute=request.build_absolute_uri)
    return render(
        request,
        "home.html",
        {
            "memberships": memberships,
            "current_organization": request.session.get(CURRENT_ORGANIZATION_SESSION_KEY),
            "current": current,
            "home": home,
            "pending_invitations": pending_invitations(request),
        },
    )

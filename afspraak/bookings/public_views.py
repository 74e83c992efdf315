"""What the public booking pages share: finding the page, the visitor's access, the slot picker.

Anyone may open the public pages (``booking_pages``: the organization's list and a meeting
type's times; ``book_views``: the invitee's details; the invitee's own links reuse the
picker to reschedule). Each view finds the organization by its slug, builds the
visitor's ``Access`` (``access_for_visitor``) and does all its data access inside
``access.scope()``, rendering eagerly. Times travel as ISO UTC text
(``start=2026-12-07T08:00:00Z``) and are shown in the invitee's zone.
"""

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from afspraak.audit.context import AuditContext
from afspraak.bookings.booking import free_slots, takes_bookings
from afspraak.bookings.forms import SlotQueryForm, format_slot_start, month_days
from afspraak.bookings.models import Booking
from afspraak.bookings.timestyle import format_clock, prefers_twelve_hour
from afspraak.errors import NotFoundError
from afspraak.scheduling.availability import start_of_local_day
from afspraak.scheduling.models import Location, MeetingType, Visibility, zone_or_none
from afspraak.scheduling.slots import slots_by_local_date
from afspraak.scheduling.zones import (
    chosen_zone_option_html,
    zone_list_version,
    zone_options_html,
)
from afspraak.tenancy.access import Access, access_for_visitor
from afspraak.tenancy.embedding import embed_origins_of
from afspraak.tenancy.models import Organization
from afspraak.tenancy.roles import Permission

# How the invitee reads where the meeting is (the host's form explains more).
INVITEE_LOCATION_LABELS = {
    Location.IN_PERSON: "In person",
    Location.PHONE: "By phone",
    Location.LINK: "Online",
    Location.VIDEO: "Video call",
}
PAGE_NOT_FOUND = "There is no such booking page."
# The picker's query asking for every zone in the page (for a browser without script).
ALL_ZONES = "all"
SLOT_MALFORMED = "That link does not name a time we offer. Please choose one of the times shown."


def organization_or_404(org_slug: str) -> Organization:
    """Return the organization with this public slug, or raise the booking pages' 404."""
    # Raw SQL: every public page starts here, and building this query through the ORM
    # cost three times as much as running it (slugs are unique: one row or none).
    table = Organization._meta.db_table
    found = Organization.objects.raw(f"SELECT * FROM {table} WHERE slug = %s", [org_slug])  # noqa: S608 - a model's table name
    organization = next(iter(found), None)
    if organization is None:
        raise NotFoundError(PAGE_NOT_FOUND)
    return organization


def visitor_access(request: HttpRequest, org_slug: str) -> Access:
    """Return the access of whoever opened the public booking pages of ``org_slug``.

    Every public page passes the access decision (and its gates) before it shows anything.
    """
    access = access_for_visitor(organization_or_404(org_slug), AuditContext.from_request(request))
    access.require(Permission.BOOK_MEETING)
    return access


def bookable_meeting_type_or_404(type_slug: str) -> MeetingType:
    """Return the current organization's bookable meeting type, or the same 404 as a missing one."""
    meeting_type = (
        MeetingType.objects.select_related("host", "schedule", "organization")
        .filter(slug=type_slug)
        .exclude(visibility=Visibility.DISABLED)
        .first()
    )
    if meeting_type is None or not takes_bookings(meeting_type):
        raise NotFoundError(PAGE_NOT_FOUND)
    return meeting_type


def host_name(meeting_type: MeetingType) -> str:
    """Return the name the host shows invitees, or "" for one without a name."""
    return meeting_type.host.full_name


def twelve_hour_clock(request: HttpRequest) -> bool:
    """Tell whether the visitor's language reads times on a 12-hour clock."""
    return prefers_twelve_hour(request.headers.get("Accept-Language", ""))


def describe_day(day: date) -> str:
    """Return a date as invitees read it: "Monday 7 December 2026"."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def describe_time(
    start: datetime, end: datetime, zone: ZoneInfo, *, twelve_hour: bool = False
) -> str:
    """Return a meeting's time in one zone: "Monday 7 December 2026, 09:00 to 09:30 (Zone)"."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    from_, to = (format_clock(t, twelve_hour=twelve_hour) for t in (local_start, local_end))
    return (
        f"{describe_day(local_start.date())}, {from_} to {to} "
        f"({zone.key.replace('_', ' ')}, {local_start:%Z})"
    )


def _month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return start_of_local_day(first, zone), start_of_local_day(following, zone)


def _shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + by
    return index // 12, index % 12 + 1


def day_slots(
    access: Access, meeting_type: MeetingType, day: date, zone: ZoneInfo, now: datetime
) -> list[datetime]:
    """Return the free slots of one date in the invitee's zone (UTC instants)."""
    window_start = start_of_local_day(day, zone)
    window_end = start_of_local_day(day + timedelta(days=1), zone)
    if window_end <= now:
        return []
    return free_slots(
        access, meeting_type, window_start=window_start, window_end=window_end, now=now
    )


def slot_choices(
    slots: list[datetime], zone: ZoneInfo, *, twelve_hour: bool = False
) -> list[dict[str, str]]:
    """Return slots as the templates list them: their ISO UTC value and local time."""
    return [
        {
            "value": format_slot_start(slot),
            "label": format_clock(slot.astimezone(zone), twelve_hour=twelve_hour),
        }
        for slot in slots
    ]


def slot_picker(
    access: Access,
    meeting_type: MeetingType,
    query: Mapping[str, Any],
    *,
    now: datetime,
    page_url: str,
    slot_url: Callable[[str, str], str],
    default_zone: str = "",
    moving: Booking | None = None,
    twelve_hour: bool = False,
) -> dict[str, Any]:
    """Return the month view and the chosen day's slots, in the invitee's zone, for a template.

    ``query`` holds ``tz``, ``month`` (YYYY-MM) and ``date`` (YYYY-MM-DD); a bad value
    falls back to its default and is reported in ``errors``; the zone defaults to
    ``default_zone``, else the schedule's. ``slot_url(start, tz)`` makes one slot's link.
    ``moving``: the booking being rescheduled, whose own time is shown as free.
    ``twelve_hour``: show the times as "2:30 PM" rather than "14:30". ``zones=all`` in
    ``query`` lists every zone in the page rather than only the chosen one.
    """
    every_zone = query.get("zones") == ALL_ZONES
    form = SlotQueryForm(query)
    form.is_valid()
    errors = [message for messages in form.errors.values() for message in messages]
    wanted = form.cleaned_data
    zone_name = (
        wanted.get("tz")
        or (default_zone if zone_or_none(default_zone) else "")
        or meeting_type.schedule.time_zone
    )
    zone = ZoneInfo(zone_name)
    today = now.astimezone(zone).date()
    chosen: date | None = wanted.get("date")
    if chosen is not None:
        year, month = chosen.year, chosen.month
    else:
        year, month = wanted.get("month") or (today.year, today.month)

    window_start, window_end = _month_bounds(year, month, zone)
    slots = (
        free_slots(
            access,
            meeting_type,
            window_start=window_start,
            window_end=window_end,
            now=now,
            moving=moving,
        )
        if window_end > now
        else []
    )
    by_day = slots_by_local_date(slots, zone)
    if chosen is None and by_day:
        chosen = min(by_day)

    def link(**params: str) -> str:
        return f"{page_url}?{urlencode({'tz': zone_name} | params)}"

    weeks = [
        [
            {
                "day": day.day,
                "in_month": day.month == month,
                "free": day.month == month and day in by_day,
                "chosen": day == chosen,
                "url": link(date=day.isoformat()),
                "label": describe_day(day),
            }
            for day in week
        ]
        for week in month_days(year, month)
    ]
    # What is shown holds up to the last instant the first slot shown is past the notice
    # (it is offered while now + notice <= its start), and until a new day begins (for
    # "today" in the invitee's zone and for the horizon in the schedule's).
    last_instant = [
        start_of_local_day(today + timedelta(days=1), zone) - timedelta(microseconds=1),
        start_of_local_day(
            now.astimezone(meeting_type.schedule.zone).date() + timedelta(days=1),
            meeting_type.schedule.zone,
        )
        - timedelta(microseconds=1),
    ]
    if slots:
        last_instant.append(slots[0] - meeting_type.slot_rules().minimum_notice)
    previous, following = _shift_month(year, month, -1), _shift_month(year, month, 1)
    # Nothing is bookable before today or past the horizon, so the links stop there.
    horizon = now + timedelta(days=meeting_type.horizon_days + 1)
    return {
        "errors": errors,
        "valid_until": min(last_instant),
        "zone_name": zone_name,
        # The whole list only where asked for (a browser without script follows the
        # "More time zones" link); otherwise the chosen zone, and the list's address.
        "zone_options": (
            zone_options_html(zone_name, now)
            if every_zone
            else chosen_zone_option_html(zone_name, now)
        ),
        "zone_list_url": (
            None if every_zone else reverse("bookings:zone_options", args=[zone_list_version(now)])
        ),
        "every_zone_url": link(
            zones=ALL_ZONES,
            month=f"{year:04d}-{month:02d}",
            **({"date": chosen.isoformat()} if chosen else {}),
        ),
        "month_value": f"{year:04d}-{month:02d}",
        "month_label": f"{date(year, month, 1):%B %Y}",
        "weekday_names": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "weeks": weeks,
        "free_day_count": len(by_day),
        "previous_url": (
            link(month=f"{previous[0]:04d}-{previous[1]:02d}")
            if previous >= (today.year, today.month)
            else None
        ),
        "next_url": (
            link(month=f"{following[0]:04d}-{following[1]:02d}") if window_end < horizon else None
        ),
        "chosen_date": chosen.isoformat() if chosen else "",
        "chosen_label": describe_day(chosen) if chosen else "",
        "day_slots": [
            {
                "label": format_clock(slot, twelve_hour=twelve_hour),
                "url": slot_url(format_slot_start(slot), zone_name),
            }
            for slot in by_day.get(chosen, [])
        ]
        if chosen
        else [],
    }


def meeting_type_summary(meeting_type: MeetingType) -> dict[str, Any]:
    """Return what every public page of a meeting type shows about it, for a template."""
    return {
        "meeting_type": meeting_type,
        "organization": meeting_type.organization,
        "host_name": host_name(meeting_type),
        "location_label": INVITEE_LOCATION_LABELS[Location(meeting_type.location_kind)],
        "page_url": reverse(
            "bookings:meeting_type",
            kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
        ),
    }


def framable_by_embedders(response: HttpResponse, organization: Organization) -> HttpResponse:
    """Let the sites the organization named frame this public booking page, and no other."""
    origins = embed_origins_of(organization)
    if origins:
        # Replaces only frame-ancestors of the site-wide CSP (django-csp's per-response
        # attribute, which HttpResponse does not declare); X-Frame-Options cannot name
        # sites, so it is left off where the CSP names them.
        response._csp_replace = {"frame-ancestors": origins}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True
    return response

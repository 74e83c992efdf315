"""The public booking pages: an organization's meeting types, the slot picker and the form.

Anyone may open them. Each view finds the organization by its slug, builds the
visitor's ``Access`` (``access_for_visitor``) and does all its data access inside
``access.scope()``, rendering eagerly. Times travel as
ISO UTC text (``start=2026-12-07T08:00:00Z``) and are shown in the invitee's zone.
"""

import hashlib
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from allauth.core.ratelimit import consume_or_429
from django.contrib.messages import get_messages
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string
from django.views.decorators.http import require_http_methods

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.bookings.booking import (
    BookingError,
    InviteeDetails,
    SlotTakenError,
    book_meeting,
    clean_details,
    free_slots,
    takes_bookings,
)
from afspraak.bookings.forms import (
    BookingForm,
    SlotQueryForm,
    format_slot_start,
    month_days,
    parse_slot_start,
)
from afspraak.bookings.links import invitee_url
from afspraak.bookings.models import Booking
from afspraak.bookings.timestyle import format_clock, prefers_twelve_hour
from afspraak.errors import NotFoundError
from afspraak.scheduling.availability import start_of_local_day
from afspraak.scheduling.models import (
    Location,
    MeetingType,
    SlotsVersion,
    Visibility,
    zone_or_none,
)
from afspraak.scheduling.slots import slots_by_local_date
from afspraak.scheduling.zones import zone_options_html
from afspraak.tenancy.access import Access, access_for_visitor
from afspraak.tenancy.embedding import embed_origins_of
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Permission

# How the invitee reads where the meeting is (the host's form explains more).
INVITEE_LOCATION_LABELS = {
    Location.IN_PERSON: "In person",
    Location.PHONE: "By phone",
    Location.LINK: "Online",
    Location.VIDEO: "Video call",
}
PAGE_NOT_FOUND = "There is no such booking page."
SLOT_UNAVAILABLE = "That time is not available (any more). Please choose one of the times shown."
# The pages' bodies are kept in each process's memory, keyed by the host's slot version read
# from the database on every request: as fresh as the database, without a cache query.
PAGE_CACHE = caches["local"]
PAGE_CACHE_SECONDS = 3600
PICKER_PARAMETERS = frozenset({"tz", "month", "date"})
# The invitee pages this browser booked last, by meeting type and time (see _book_post).
JUST_BOOKED_SESSION_KEY = "bookings.just_booked"
JUST_BOOKED_KEPT = 5
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
    ``twelve_hour``: show the times as "2:30 PM" rather than "14:30".
    """
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
        "zone_options": zone_options_html(zone_name, now),
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


def page_cache_key(
    found: tuple[int, int, int], organization: Organization, query: QueryDict, *, twelve_hour: bool
) -> str | None:
    """Return the key of a booking page's body as ``query`` asks for it, or None.

    It names the host's slot version (raised by any change to their bookings,
    schedules, meeting types or name), so a page shown before such a change is not
    shown after it; only the picker's own parameters count (another query gets no key:
    it is not worth keeping).
    """
    if set(query) - PICKER_PARAMETERS or any(len(query.getlist(name)) > 1 for name in query):
        return None
    wanted = "&".join(f"{name}={query[name]}" for name in sorted(query))
    if len(wanted) > 120:
        return None
    meeting_type_id, host_id, version = found
    clock = "12" if twelve_hour else "24"
    # The organization's name and branding are on the page but not in the version.
    seed = f"{organization.name}:{organization.accent_colour}:{organization.logo_hash}"
    name = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return f"page:{meeting_type_id}:{host_id}:{version}:{name}:{clock}:{wanted}"


def framable_by_embedders(response: HttpResponse, organization: Organization) -> HttpResponse:
    """Let the sites the organization named frame this public booking page, and no other."""
    origins = embed_origins_of(organization)
    if origins:
        # Replaces only frame-ancestors of the site-wide CSP; X-Frame-Options cannot
        # name sites, so it is left off where the CSP names them.
        response._csp_replace = {"frame-ancestors": origins}  # type: ignore[attr-defined]
        response.xframe_options_exempt = True
    return response


def organization_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List the organization's public meeting types."""
    access = visitor_access(request, org_slug)
    with access.scope() as organization:
        meeting_types = list(
            MeetingType.objects.filter(
                visibility=Visibility.PUBLIC,
                host__is_active=True,
                host__memberships__organization=organization,
            )
            .select_related("host")
            .order_by("name", "pk")
        )
        entries = [
            {"meeting_type": meeting_type, "host_name": meeting_type.host.full_name}
            for meeting_type in meeting_types
        ]
        return framable_by_embedders(
            render(
                request,
                "bookings/public/organization.html",
                {"organization": organization, "entries": entries},
            ),
            organization,
        )


def _summary(meeting_type: MeetingType) -> dict[str, Any]:
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


def bookable_page_version(
    organization: Organization, type_slug: str
) -> tuple[int, int, int] | None:
    """Return the organization's bookable type's (id, host id, slot version), or None.

    Every condition of ``bookable_meeting_type_or_404`` and the host's version in one
    statement, for the booking page's cache. Plain SQL because building this query
    through the ORM cost more than the rest of a cached page; it names the
    organization itself (the tenant scope does not reach a cursor) and row-level
    security still applies on PostgreSQL.
    """
    sql = f"""
        SELECT mt.id, mt.host_id, COALESCE(v.number, 0)
        FROM {MeetingType._meta.db_table} mt
        JOIN {User._meta.db_table} u ON u.id = mt.host_id
        LEFT JOIN {SlotsVersion._meta.db_table} v ON v.host_id = mt.host_id
        WHERE mt.organization_id = %s AND mt.slug = %s AND mt.visibility <> %s
          AND u.is_active
          AND EXISTS (SELECT 1 FROM {Membership._meta.db_table} m
                      WHERE m.organization_id = mt.organization_id AND m.user_id = mt.host_id)
    """  # noqa: S608 - only table names from the models are formatted in; values are bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization.pk, type_slug, Visibility.DISABLED.value])
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row is not None else None


def _plain_page(request: HttpRequest, content: bytes, gzipped: bytes) -> HttpResponse:
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(gzipped)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(content)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def meeting_type_page(request: HttpRequest, org_slug: str, type_slug: str) -> HttpResponse:
    """Show a meeting type with its month of free days and the chosen day's slots."""
    access = visitor_access(request, org_slug)
    with access.scope() as organization:
        twelve_hour = twelve_hour_clock(request)
        now = timezone.now()
        # The version is read before anything it keys: see afspraak.scheduling.slot_cache.
        found = bookable_page_version(organization, type_slug)
        key = (
            page_cache_key(found, organization, request.GET, twelve_hour=twelve_hour)
            if found is not None
            else None
        )
        cached = PAGE_CACHE.get(key) if key else None
        if key and cached is not None and now <= cached[1]:
            # A visitor without an account or a message sees the same page as any other.
            plain = not request.user.is_authenticated and not len(get_messages(request))
            whole = PAGE_CACHE.get(f"{key}:plain") if plain else None
            if whole is not None and now <= whole[1]:
                return framable_by_embedders(_plain_page(request, whole[0], whole[2]), organization)
            response = render(
                request,
                "bookings/public/meeting_type.html",
                {"title": cached[2], "body": cached[0], "organization": organization},
            )
            if plain:
                # Kept gzipped too: most of the page is the zone list, which shrinks
                # tenfold. The page holds no secret, so compressing it reveals nothing
                # (BREACH needs one beside the attacker's input).
                kept = (response.content, cached[1], compress_string(response.content))
                PAGE_CACHE.set(f"{key}:plain", kept, PAGE_CACHE_SECONDS)
            patch_vary_headers(response, ["Accept-Encoding"])
            return framable_by_embedders(response, organization)
        meeting_type = bookable_meeting_type_or_404(type_slug)
        summary = _summary(meeting_type)
        book_url = reverse(
            "bookings:book", kwargs={"org_slug": organization.slug, "type_slug": meeting_type.slug}
        )
        picker = slot_picker(
            access,
            meeting_type,
            request.GET,
            now=now,
            page_url=summary["page_url"],
            slot_url=lambda start, tz: f"{book_url}?{urlencode({'start': start, 'tz': tz})}",
            twelve_hour=twelve_hour,
        )
        body = render_to_string(
            "bookings/public/_meeting_type_page.html", summary | {"picker": picker}
        )
        title = f"{meeting_type.name} · {organization.name}"
        if key and not picker["errors"]:
            PAGE_CACHE.set(key, (body, picker["valid_until"], title), PAGE_CACHE_SECONDS)
        response = render(
            request,
            "bookings/public/meeting_type.html",
            {"title": title, "body": body, "organization": organization},
            status=400 if picker["errors"] else 200,
        )
        # The same address may be answered gzipped (see _plain_page).
        patch_vary_headers(response, ["Accept-Encoding"])
        return framable_by_embedders(response, organization)


def _book_page(
    request: HttpRequest,
    meeting_type: MeetingType,
    form: BookingForm,
    *,
    start: datetime | None,
    zone: ZoneInfo,
    problem: str = "",
    alternatives: list[datetime] | None = None,
    status: int = 200,
) -> HttpResponse:
    summary = _summary(meeting_type)
    twelve_hour = twelve_hour_clock(request)
    chosen_day = start.astimezone(zone).date() if start is not None else None
    context = summary | {
        "form": form,
        "problem": problem,
        "start_value": format_slot_start(start) if start is not None else "",
        "time_label": (
            describe_time(start, start + meeting_type.duration, zone, twelve_hour=twelve_hour)
            if start is not None
            else ""
        ),
        "alternatives": (
            slot_choices(alternatives, zone, twelve_hour=twelve_hour)
            if alternatives is not None
            else None
        ),
        "alternatives_day": describe_day(chosen_day) if chosen_day else "",
        "back_url": summary["page_url"]
        + "?"
        + urlencode(
            {"tz": zone.key} | ({"date": chosen_day.isoformat()} if chosen_day is not None else {})
        ),
    }
    return render(request, "bookings/public/book.html", context, status=status)


@require_http_methods(["GET", "POST"])
def book(request: HttpRequest, org_slug: str, type_slug: str) -> HttpResponse:
    """Take the invitee's details for one slot and book it."""
    if request.method == "POST" and (refused := consume_or_429(request, action="booking")):
        return refused
    access = visitor_access(request, org_slug)
    with access.scope():
        meeting_type = bookable_meeting_type_or_404(type_slug)
        now = timezone.now()
        if request.method == "POST":
            return _book_post(request, access, meeting_type, now)
        zone = zone_or_none(request.GET.get("tz", "")) or meeting_type.schedule.zone
        raw_start = request.GET.get("start", "")
        start = parse_slot_start(raw_start)
        form = BookingForm(
            meeting_type=meeting_type, initial={"start": raw_start, "timezone": zone.key}
        )
        if start is None:
            return _book_page(
                request,
                meeting_type,
                form,
                start=None,
                zone=zone,
                problem=SLOT_MALFORMED,
                status=400,
            )
        fresh = day_slots(access, meeting_type, start.astimezone(zone).date(), zone, now)
        if start not in fresh:
            booked_here = request.session.get(JUST_BOOKED_SESSION_KEY, {}).get(
                _just_booked_key(meeting_type, start)
            )
            if booked_here:
                return redirect(booked_here)
            return _book_page(
                request,
                meeting_type,
                form,
                start=start,
                zone=zone,
                problem=SLOT_UNAVAILABLE,
                alternatives=fresh,
                status=409,
            )
        return _book_page(request, meeting_type, form, start=start, zone=zone)


def _book_post(
    request: HttpRequest, access: Access, meeting_type: MeetingType, now: datetime
) -> HttpResponse:
    form = BookingForm(request.POST, meeting_type=meeting_type)
    form.is_valid()
    zone = zone_or_none(request.POST.get("timezone", "")) or meeting_type.schedule.zone
    start = form.cleaned_data.get("start")
    if start is None:
        return _book_page(
            request, meeting_type, form, start=None, zone=zone, problem=SLOT_MALFORMED, status=400
        )
    details = InviteeDetails(
        name=form.cleaned_data.get("name", ""),
        email=form.cleaned_data.get("email", ""),
        timezone=form.cleaned_data.get("timezone", ""),
        phone=form.cleaned_data.get("phone", ""),
        answers=form.answers(),
    )
    if form.errors:
        # Tell every problem at once: the booking flow's checks too, where the form had none.
        try:
            clean_details(meeting_type, details)
        except ValidationError as error:
            form.add_booking_errors(error, skip=set(form.errors))
        return _book_page(request, meeting_type, form, start=start, zone=zone, status=400)
    try:
        booking = book_meeting(access, meeting_type, start=start, details=details, now=now)
    except ValidationError as error:
        form.add_booking_errors(error)
        return _book_page(request, meeting_type, form, start=start, zone=zone, status=400)
    except BookingError as error:
        return _book_page(
            request,
            meeting_type,
            form,
            start=start,
            zone=zone,
            problem=error.message,
            alternatives=day_slots(access, meeting_type, start.astimezone(zone).date(), zone, now),
            status=409 if isinstance(error, SlotTakenError) else 400,
        )
    manage_url = invitee_url(booking, "manage")
    # So that Back to this form (now a taken time) leads this browser to its booking.
    just_booked = request.session.get(JUST_BOOKED_SESSION_KEY, {})
    just_booked = dict(list(just_booked.items())[-(JUST_BOOKED_KEPT - 1) :])
    just_booked[_just_booked_key(meeting_type, start)] = manage_url
    request.session[JUST_BOOKED_SESSION_KEY] = just_booked
    return redirect(manage_url)


def _just_booked_key(meeting_type: MeetingType, start: datetime) -> str:
    return f"{meeting_type.public_id}:{format_slot_start(start)}"

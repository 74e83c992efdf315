"""The public booking form: the invitee's details for one chosen time, and booking it."""

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from allauth.core.ratelimit import consume_or_429
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from afspraak.bookings.booking import (
    BookingError,
    InviteeDetails,
    SlotTakenError,
    book_meeting,
    clean_details,
)
from afspraak.bookings.forms import BookingForm, format_slot_start, parse_slot_start
from afspraak.bookings.links import invitee_url
from afspraak.bookings.public_views import (
    SLOT_MALFORMED,
    bookable_meeting_type_or_404,
    day_slots,
    describe_day,
    describe_time,
    meeting_type_summary,
    slot_choices,
    twelve_hour_clock,
    visitor_access,
)
from afspraak.scheduling.models import MeetingType, zone_or_none
from afspraak.tenancy.access import Access

SLOT_UNAVAILABLE = "That time is not available (any more). Please choose one of the times shown."
# The invitee pages this browser booked last, by meeting type and time (see _book_post).
JUST_BOOKED_SESSION_KEY = "bookings.just_booked"
JUST_BOOKED_KEPT = 5


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
    summary = meeting_type_summary(meeting_type)
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

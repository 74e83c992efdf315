"""The host's booking pages: list, search, detail, cancel, approve and decline."""

from datetime import UTC
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from afspraak.bookings.booking import (
    BookingError,
    approve_booking,
    cancel_booking,
    decline_booking,
    invitee_change_refusal,
)
from afspraak.bookings.dashboard_forms import BookingFilterForm, CancelForm, DeclineForm
from afspraak.bookings.erasure import erasure_requests_for
from afspraak.bookings.host_access import (
    TABS,
    bookings_for,
    filter_bookings,
    get_booking_for,
    sees_all_bookings,
)
from afspraak.bookings.models import Booking, Status
from afspraak.bookings.reschedule_requests import ask_invitee_to_reschedule
from afspraak.scheduling.models import zone_or_none
from afspraak.tenancy.pages import (
    OrganizationRequest,
    organization_page_context,
    organization_view,
    render_confirmation,
)
from afspraak.tenancy.roles import Permission

LIST_LIMIT = 200


def _local(booking: Booking) -> dict[str, Any]:
    """Return the booking's times in the host's zone (its schedule's) and the invitee's."""
    zone = booking.meeting_type.schedule.zone
    return {
        "booking": booking,
        "start": timezone.localtime(booking.start, zone),
        "end": timezone.localtime(booking.end, zone),
        "zone": zone.key,
    }


@organization_view(Permission.HOST)
def booking_list(request: OrganizationRequest) -> HttpResponse:
    form = BookingFilterForm(request.GET or None)
    status, tab, email, name = 200, "upcoming", "", ""
    if form.is_bound and not form.is_valid():
        status = 400
        rows: list[dict[str, Any]] = []
    else:
        if form.is_bound:
            tab = form.cleaned_data["tab"] or "upcoming"
            email = form.cleaned_data["email"]
            name = form.cleaned_data["name"].strip()
        bookings = filter_bookings(
            bookings_for(request.access),
            organization=request.organization,
            tab=tab,
            email=email,
            name=name,
            now=timezone.now(),
        )
        rows = [_local(booking) for booking in bookings[:LIST_LIMIT]]
    return render(
        request,
        "bookings/dashboard/list.html",
        organization_page_context(
            request,
            form=form,
            rows=rows,
            tab=tab,
            tabs=TABS,
            email=email,
            searched_name=name,
            limit=LIST_LIMIT,
            sees_all=sees_all_bookings(request.access),
        ),
        status=status,
    )


def _detail(
    request: OrganizationRequest,
    booking: Booking,
    *,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "bookings/dashboard/detail.html",
        organization_page_context(
            request,
            **_local(booking),
            invitee_start=timezone.localtime(
                booking.start, zone_or_none(booking.invitee_timezone) or UTC
            ),
            answers=booking.labelled_answers(),
            may_cancel=booking.holds_time and not booking.has_passed(now),
            may_ask_to_reschedule=invitee_change_refusal(booking, now) is None,
            is_pending=booking.status == Status.PENDING,
        ),
        status=status,
    )


@organization_view(Permission.HOST)
def booking_detail(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    return _detail(request, get_booking_for(request.access, booking_id))


def _refused(request: OrganizationRequest, booking_id: str, message: str) -> HttpResponse:
    messages.error(request, message)
    booking = get_booking_for(request.access, booking_id)
    return _detail(request, booking, status=409)


def _describe(booking: Booking) -> str:
    start = _local(booking)["start"]
    return (
        f"{booking.meeting_type.name} with {booking.invitee_name} on "
        f"{start:%A %-d %B %Y at %H:%M} ({booking.meeting_type.schedule.zone.key})"
    )


def _confirm_cancel(
    request: OrganizationRequest, booking: Booking, form: CancelForm, *, status: int = 200
) -> HttpResponse:
    return render_confirmation(
        request,
        title="Cancel this booking?",
        consequences=[
            _describe(booking) + ".",
            "The invitee is e-mailed that it is cancelled, with your message, and the time is "
            "free again. This cannot be undone.",
        ],
        button="Cancel booking",
        back_url=_detail_url(request, booking),
        form=form,
        status=status,
    )


def _confirm_decline(
    request: OrganizationRequest, booking: Booking, form: DeclineForm, *, status: int = 200
) -> HttpResponse:
    return render_confirmation(
        request,
        title="Decline this booking request?",
        consequences=[
            _describe(booking) + ".",
            "The invitee is e-mailed that you declined, with your message, and the time is "
            "free again. This cannot be undone.",
        ],
        button="Decline request",
        back_url=_detail_url(request, booking),
        form=form,
        status=status,
    )


def _detail_url(request: OrganizationRequest, booking: Booking) -> str:
    return reverse(
        "dashboard:booking",
        kwargs={"org_slug": request.organization.slug, "booking_id": booking.public_id},
    )


def _back(request: OrganizationRequest, booking: Booking) -> HttpResponse:
    return redirect(
        "dashboard:booking", org_slug=request.organization.slug, booking_id=booking.public_id
    )


@organization_view(Permission.HOST)
@require_http_methods(["GET", "POST"])
def booking_cancel(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    booking = get_booking_for(request.access, booking_id)
    if request.method == "GET":
        return _confirm_cancel(request, booking, CancelForm())
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _confirm_cancel(request, booking, form, status=400)
    try:
        cancel_booking(request.access, booking, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error("reason", error.messages)
        return _confirm_cancel(request, booking, form, status=400)
    except BookingError as error:
        return _refused(request, booking_id, error.message)
    messages.success(request, "Booking cancelled; the invitee is told.")
    return _back(request, booking)


@organization_view(Permission.HOST)
@require_http_methods(["GET", "POST"])
def booking_ask_to_reschedule(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    booking = get_booking_for(request.access, booking_id)
    if request.method == "GET":
        return render_confirmation(
            request,
            title="Ask the invitee to choose another time?",
            consequences=[
                _describe(booking) + ".",
                "The invitee is e-mailed a link to pick another free time. The meeting stays "
                "booked at this time until they do.",
            ],
            button="E-mail the invitee",
            back_url=_detail_url(request, booking),
        )
    try:
        ask_invitee_to_reschedule(request.access, booking)
    except BookingError as error:
        return _refused(request, booking_id, error.message)
    messages.success(request, "The invitee is e-mailed a link to choose another time.")
    return _back(request, booking)


@organization_view(Permission.HOST)
@require_POST
def booking_approve(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    booking = get_booking_for(request.access, booking_id)
    try:
        approve_booking(request.access, booking)
    except BookingError as error:
        return _refused(request, booking_id, error.message)
    messages.success(request, "Booking approved; the invitee is told.")
    return _back(request, booking)


@organization_view(Permission.HOST)
@require_http_methods(["GET", "POST"])
def booking_decline(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    booking = get_booking_for(request.access, booking_id)
    if request.method == "GET":
        return _confirm_decline(request, booking, DeclineForm())
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _confirm_decline(request, booking, form, status=400)
    try:
        decline_booking(request.access, booking, reason=form.cleaned_data["reason"])
    except BookingError as error:
        return _refused(request, booking_id, error.message)
    messages.success(request, "Booking declined; the invitee is told and the time is free again.")
    return _back(request, booking)


@organization_view(Permission.VIEW_ALL_BOOKINGS)
def erasure_list(request: OrganizationRequest) -> HttpResponse:
    """List the invitees' erasure requests, with when each completed."""
    return render(
        request,
        "bookings/dashboard/erasures.html",
        organization_page_context(request, erasures=erasure_requests_for(request.access)),
    )

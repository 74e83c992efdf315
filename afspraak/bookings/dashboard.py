"""The host's booking pages: list, search, detail, cancel, approve and decline."""

from datetime import UTC
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from afspraak.bookings.booking import (
    BookingError,
    approve_booking,
    cancel_booking,
    decline_booking,
)
from afspraak.bookings.dashboard_forms import BookingFilterForm, CancelForm, DeclineForm
from afspraak.bookings.host_access import (
    TABS,
    bookings_for,
    filter_bookings,
    get_booking_for,
    sees_all_bookings,
)
from afspraak.bookings.models import Booking, Status
from afspraak.scheduling.models import zone_or_none
from afspraak.tenancy.pages import (
    OrganizationRequest,
    organization_page_context,
    organization_view,
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
    status, tab, email = 200, "upcoming", ""
    if form.is_bound and not form.is_valid():
        status = 400
        rows: list[dict[str, Any]] = []
    else:
        if form.is_bound:
            tab = form.cleaned_data["tab"] or "upcoming"
            email = form.cleaned_data["email"]
        bookings = filter_bookings(
            bookings_for(request.access),
            organization=request.organization,
            tab=tab,
            email=email,
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
            limit=LIST_LIMIT,
            sees_all=sees_all_bookings(request.access),
        ),
        status=status,
    )


def _detail(
    request: OrganizationRequest,
    booking: Booking,
    *,
    cancel_form: CancelForm | None = None,
    decline_form: DeclineForm | None = None,
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
            is_pending=booking.status == Status.PENDING,
            cancel_form=cancel_form or CancelForm(),
            decline_form=decline_form or DeclineForm(),
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


def _back(request: OrganizationRequest, booking: Booking) -> HttpResponse:
    return redirect(
        "dashboard:booking", org_slug=request.organization.slug, booking_id=booking.public_id
    )


@organization_view(Permission.HOST)
@require_POST
def booking_cancel(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    booking = get_booking_for(request.access, booking_id)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _detail(request, booking, cancel_form=form, status=400)
    try:
        cancel_booking(request.access, booking, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        form.add_error("reason", error.messages)
        return _detail(request, booking, cancel_form=form, status=400)
    except BookingError as error:
        return _refused(request, booking_id, error.message)
    messages.success(request, "Booking cancelled; the invitee is told.")
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
@require_POST
def booking_decline(request: OrganizationRequest, booking_id: str) -> HttpResponse:
    booking = get_booking_for(request.access, booking_id)
    form = DeclineForm(request.POST)
    if not form.is_valid():
        return _detail(request, booking, decline_form=form, status=400)
    try:
        decline_booking(request.access, booking, reason=form.cleaned_data["reason"])
    except BookingError as error:
        return _refused(request, booking_id, error.message)
    messages.success(request, "Booking declined; the invitee is told and the time is free again.")
    return _back(request, booking)

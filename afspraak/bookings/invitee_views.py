"""The invitee's own pages, reached through the signed link in their e-mails: /b/<token>/….

A token names the organization and the booking; a tampered or unknown one gets the
same 404 as a missing booking. A genuine one gives the invitee's ``Access``
(``access_for_invitee``), good for that booking alone, which the views hand to the
booking flow. A link whose time is up (see afspraak.bookings.links) gets a 410 page
offering fresh links by e-mail (:func:`new_link`). Every response under /b/ (404s and
CSRF refusals too) asks not to be indexed, cached or passed on as a referrer, because
the URL itself is the key to the booking.
"""

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from allauth.core.ratelimit import consume_or_429
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods

from afspraak.audit.context import AuditContext
from afspraak.bookings import ics
from afspraak.bookings.booking import (
    BookingError,
    ChangeRefusedError,
    SlotTakenError,
    cancel_booking,
    invitee_change_refusal,
    reschedule_booking,
)
from afspraak.bookings.calendar_links import google_calendar_url, outlook_calendar_url
from afspraak.bookings.erasure import erase_invitee_data
from afspraak.bookings.forms import CancelForm, NewLinkForm, format_slot_start, parse_slot_start
from afspraak.bookings.link_renewal import request_fresh_links
from afspraak.bookings.links import (
    LINK_LIFETIME_AFTER_MEETING,
    invitee_url,
    links_have_expired,
    read_invitee_token,
)
from afspraak.bookings.models import Booking, Status
from afspraak.bookings.public_views import (
    INVITEE_LOCATION_LABELS,
    SLOT_MALFORMED,
    describe_time,
    host_name,
    organization_or_404,
    slot_picker,
    twelve_hour_clock,
)
from afspraak.errors import ConflictError, NotFoundError
from afspraak.scheduling.models import Location, zone_or_none
from afspraak.tenancy.access import (
    Access,
    AccessDeniedError,
    access_for_invitee,
    access_for_visitor,
    record_refusal,
)
from afspraak.tenancy.models import Organization

LINK_NOT_FOUND = "This link does not lead to a booking. Please use the link in your e-mail."
LINK_EXPIRED = (
    f"This link has expired: links to a booking work until "
    f"{LINK_LIFETIME_AFTER_MEETING.days} days after the meeting."
)
FRESH_LINKS_ANSWER = (
    "If that address booked with {organization} and a meeting is at most "
    f"{LINK_LIFETIME_AFTER_MEETING.days} days past, we have e-mailed it fresh links. "
    "Please check your inbox."
)
PRIVATE_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "private, no-store",
}

InviteeView = Callable[..., HttpResponse]


def _private(response: HttpResponse) -> HttpResponse:
    for name, value in PRIVATE_HEADERS.items():
        response[name] = value
    return response


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(
        request, "bookings/public/link_not_found.html", {"message": LINK_NOT_FOUND}, status=404
    )


def _refused(request: HttpRequest, refused: AccessDeniedError) -> HttpResponse:
    return render(
        request, "tenancy/refused.html", {"message": refused.message}, status=refused.status
    )


def _expired(request: HttpRequest, organization: Organization) -> HttpResponse:
    context = {
        "message": LINK_EXPIRED,
        "organization": organization,
        "form": NewLinkForm(),
        "form_url": reverse("bookings:new_link", kwargs={"org_slug": organization.slug}),
    }
    return render(request, "bookings/public/link_expired.html", context, status=410)


def _booking_for(token: str) -> tuple[Organization, str] | None:
    ids = read_invitee_token(token)
    if ids is None:
        return None
    organization = Organization.objects.filter(public_id=ids[0]).first()
    return (organization, ids[1]) if organization is not None else None


def invitee_page(view: InviteeView) -> InviteeView:
    """Make a view act on the booking its token names, with the invitee's ``Access`` to it."""
    protected = csrf_protect(view)

    def run(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        found = _booking_for(token)
        if found is None:
            return _not_found(request)
        organization, booking_id = found
        access = access_for_invitee(organization, booking_id, AuditContext.from_request(request))
        try:
            # Every invitee page passes the access decision (and its gates) first.
            access.require_booking(booking_id)
        except AccessDeniedError as refused:
            record_refusal(refused)
            return _refused(request, refused)
        with access.scope():
            booking = (
                Booking.objects.select_related(
                    "organization", "meeting_type", "meeting_type__schedule", "host"
                )
                .filter(public_id=booking_id)
                .first()
            )
            if booking is None:
                return _not_found(request)
            if links_have_expired(booking, timezone.now()):
                return _expired(request, organization)
            try:
                return protected(request, access, booking, **kwargs)
            except NotFoundError:
                return _not_found(request)
            except AccessDeniedError as refused:
                record_refusal(refused)
                return _refused(request, refused)

    # CSRF is checked by csrf_protect inside, not by the middleware before the view, so
    # that a refused POST still leaves with the private headers below.
    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponse:
        return _private(run(request, token, **kwargs))

    return wrapper


# Changes nothing: exempt, so a POST here also gets the private 404, not a bare CSRF 403.
@csrf_exempt
def link_not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Answer any other address under /b/ with the private 404."""
    return _private(_not_found(request))


@require_http_methods(["GET", "POST"])
def new_link(request: HttpRequest, org_slug: str) -> HttpResponse:
    """Mail fresh links to the bookings of the address given, answering alike either way."""
    if request.method == "POST" and (refused := consume_or_429(request, action="invitee_link")):
        return _private(refused)
    organization = organization_or_404(org_slug)
    form = NewLinkForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        "organization": organization,
        "form": form,
        "form_url": request.path,
    }
    if request.method == "GET" or not form.is_valid():
        status = 400 if form.is_bound else 200
        return _private(render(request, "bookings/public/new_link.html", context, status=status))
    email = form.cleaned_data["email"]
    # Before the look-up, so the answer is the same whether the address booked or not.
    address_key = f"{organization.public_id}:{email.strip().lower()}"
    if refused := consume_or_429(request, action="invitee_link_email", key=address_key):
        return _private(refused)
    visitor = access_for_visitor(organization, AuditContext.from_request(request))
    request_fresh_links(visitor, email, now=timezone.now())
    context |= {"form": None, "answer": FRESH_LINKS_ANSWER.format(organization=organization.name)}
    return _private(render(request, "bookings/public/new_link.html", context))


def _zone(name: str, fallback: ZoneInfo) -> ZoneInfo:
    return zone_or_none(name) or fallback


def _calendar_links(booking: Booking, title: str, where: str) -> dict[str, str]:
    page = f"{settings.SITE_URL}{invitee_url(booking, 'manage')}"
    details = f"Your page for this meeting (to reschedule or cancel): {page}"
    start, end = booking.start, booking.end
    return {
        "google_calendar_url": google_calendar_url(
            title=title, start=start, end=end, details=details, location=where
        ),
        "outlook_calendar_url": outlook_calendar_url(
            title=title, start=start, end=end, details=details, location=where
        ),
    }


def _summary(booking: Booking, now: datetime, *, twelve_hour: bool = False) -> dict[str, Any]:
    meeting_type = booking.meeting_type
    host_zone = meeting_type.schedule.zone
    invitee_zone = _zone(booking.invitee_timezone, host_zone)
    host = host_name(meeting_type)
    where = INVITEE_LOCATION_LABELS[Location(meeting_type.location_kind)]
    title = f"{meeting_type.name} with {host or booking.organization.name}"
    return {
        "booking": booking,
        "meeting_type": meeting_type,
        "organization": booking.organization,
        "host_name": host,
        "status_label": Status(booking.status).label,
        "is_pending": booking.status == Status.PENDING,
        "is_confirmed": booking.status == Status.CONFIRMED,
        "invitee_time": describe_time(
            booking.start, booking.end, invitee_zone, twelve_hour=twelve_hour
        ),
        "host_time": describe_time(booking.start, booking.end, host_zone, twelve_hour=twelve_hour),
        "same_zone": invitee_zone.key == host_zone.key,
        "location_label": where,
        "is_link": booking.location.startswith("https://"),
        "answers": booking.labelled_answers() if booking.holds_time else [],
        "invitee_email": booking.invitee.email,
        "refusal": invitee_change_refusal(booking, now),
        "manage_url": invitee_url(booking, "manage"),
        "cancel_url": invitee_url(booking, "cancel"),
        "reschedule_url": invitee_url(booking, "reschedule"),
        "ics_url": invitee_url(booking, "ics"),
        "erase_url": invitee_url(booking, "erase"),
        "book_again_url": reverse(
            "bookings:meeting_type",
            kwargs={"org_slug": booking.organization.slug, "type_slug": meeting_type.slug},
        ),
    } | _calendar_links(booking, title, booking.location or where)


@invitee_page
@require_http_methods(["GET"])
def manage(request: HttpRequest, access: Access, booking: Booking) -> HttpResponse:
    """Show the invitee their booking, with what they may still do."""
    summary = _summary(booking, timezone.now(), twelve_hour=twelve_hour_clock(request))
    return render(request, "bookings/public/manage.html", summary)


@invitee_page
@require_http_methods(["GET"])
def invite_ics(request: HttpRequest, access: Access, booking: Booking) -> HttpResponse:
    """Download the booking as an iCalendar file (a cancellation once it is cancelled)."""
    method = "REQUEST" if booking.holds_time else "CANCEL"
    response = HttpResponse(
        ics.invitation(booking, method=method), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="invite.ics"'
    return response


@invitee_page
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, access: Access, booking: Booking) -> HttpResponse:
    """Let the invitee cancel, with an optional message, until the cut-off."""
    now = timezone.now()
    summary = _summary(booking, now)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if summary["refusal"]:
        return render(request, "bookings/public/cancel.html", summary | {"form": None}, status=409)
    if request.method == "POST" and form.is_valid():
        try:
            cancel_booking(access, booking, reason=form.cleaned_data["reason"], now=now)
        except ValidationError as error:
            form.add_error(None, error)
        except ChangeRefusedError as error:
            summary["refusal"] = error.message
            return render(
                request, "bookings/public/cancel.html", summary | {"form": None}, status=409
            )
        else:
            messages.success(request, "Your meeting is cancelled. The host has been told.")
            return redirect(summary["manage_url"])
    status = 400 if form.errors else 200
    return render(request, "bookings/public/cancel.html", summary | {"form": form}, status=status)


def _reschedule_page(
    request: HttpRequest,
    access: Access,
    booking: Booking,
    summary: dict[str, Any],
    now: datetime,
    *,
    problem: str = "",
    status: int = 200,
    query: Any = None,
) -> HttpResponse:
    base = summary["reschedule_url"]
    picker = slot_picker(
        access,
        booking.meeting_type,
        request.GET if query is None else query,
        now=now,
        page_url=base,
        slot_url=lambda start, tz: f"{base}?{urlencode({'start': start, 'tz': tz})}",
        default_zone=booking.invitee_timezone,
        moving=booking,
        twelve_hour=twelve_hour_clock(request),
    )
    if picker["errors"] and status == 200:
        status = 400
    context = summary | {"picker": picker, "problem": problem, "page_url": base}
    return render(request, "bookings/public/reschedule.html", context, status=status)


@invitee_page
@require_http_methods(["GET", "POST"])
def reschedule(request: HttpRequest, access: Access, booking: Booking) -> HttpResponse:
    """Let the invitee move the booking to another free slot until the cut-off."""
    now = timezone.now()
    summary = _summary(booking, now)
    if summary["refusal"]:
        return render(request, "bookings/public/reschedule.html", summary, status=409)
    if request.method == "GET" and "start" not in request.GET:
        return _reschedule_page(request, access, booking, summary, now)
    source = request.POST if request.method == "POST" else request.GET
    start = parse_slot_start(source.get("start", ""))
    zone = _zone(
        source.get("tz", ""), _zone(booking.invitee_timezone, booking.meeting_type.schedule.zone)
    )
    if start is None:
        return _reschedule_page(
            request, access, booking, summary, now, problem=SLOT_MALFORMED, status=400
        )
    if request.method == "GET":
        confirm = summary | {
            "new_time": describe_time(start, start + booking.meeting_type.duration, zone),
            "start_value": format_slot_start(start),
            "zone_name": zone.key,
        }
        return render(request, "bookings/public/reschedule_confirm.html", confirm)
    try:
        reschedule_booking(access, booking, start=start, now=now)
    except ChangeRefusedError as error:
        summary["refusal"] = error.message
        return render(request, "bookings/public/reschedule.html", summary, status=409)
    except BookingError as error:
        day = {"tz": zone.key, "date": start.astimezone(zone).date().isoformat()}
        return _reschedule_page(
            request,
            access,
            booking,
            summary,
            now,
            problem=error.message,
            status=409 if isinstance(error, SlotTakenError) else 400,
            query=day,
        )
    messages.success(request, "Your meeting has been moved. The host has been told.")
    return redirect(summary["manage_url"])


@invitee_page
@require_http_methods(["GET", "POST"])
def erase(request: HttpRequest, access: Access, booking: Booking) -> HttpResponse:
    """Ask to confirm, then erase the invitee's personal data with this organization."""
    summary = _summary(booking, timezone.now())
    if request.method == "GET":
        return render(request, "bookings/public/erase.html", summary)
    try:
        erasure = erase_invitee_data(access, booking)
    except ConflictError as error:
        return render(
            request, "bookings/public/erase.html", summary | {"problem": error.message}, status=409
        )
    return render(request, "bookings/public/erased.html", summary | {"erasure": erasure})

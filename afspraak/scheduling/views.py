"""Schedule and meeting-type pages of an organization: parse, check, call one function, render."""

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from afspraak.accounts.models import User
from afspraak.scheduling.access import (
    get_meeting_type_for,
    get_override_for,
    get_schedule_for,
    meeting_types_for,
    schedules_for,
)
from afspraak.scheduling.forms import (
    DateOverrideForm,
    MeetingTypeForm,
    ScheduleForm,
    add_domain_errors,
    format_ranges_text,
)
from afspraak.scheduling.meeting_types import (
    create_meeting_type,
    retire_meeting_type,
    update_meeting_type,
)
from afspraak.scheduling.models import WEEKDAY_NAMES, MeetingType, Schedule
from afspraak.scheduling.question_forms import ACTION as QUESTION_ACTION
from afspraak.scheduling.question_forms import rearranged_questions
from afspraak.scheduling.schedules import (
    ScheduleInUseError,
    create_schedule,
    delete_schedule,
    remove_date_override,
    set_date_override,
    update_schedule,
)
from afspraak.tenancy.pages import (
    OrganizationRequest,
    organization_page_context,
    organization_view,
    render_confirmation,
)
from afspraak.tenancy.roles import Permission


def _weekly_summary(schedule: Schedule) -> list[tuple[str, str]]:
    return [
        (name, format_ranges_text(schedule.weekly_hours.get(str(day), [])) or "—")
        for day, name in enumerate(WEEKDAY_NAMES)
    ]


def _booking_url(request: OrganizationRequest, meeting_type: MeetingType) -> str:
    return request.build_absolute_uri(
        reverse(
            "bookings:meeting_type",
            kwargs={"org_slug": request.organization.slug, "type_slug": meeting_type.slug},
        )
    )


def _schedule_url(request: OrganizationRequest, schedule: Schedule) -> str:
    return reverse(
        "scheduling:schedule_edit",
        kwargs={"org_slug": request.organization.slug, "schedule_id": schedule.public_id},
    )


@organization_view(Permission.HOST)
def schedule_list(request: OrganizationRequest) -> HttpResponse:
    schedules = list(schedules_for(request.access).prefetch_related("meeting_types"))
    rows = [(schedule, _weekly_summary(schedule)) for schedule in schedules]
    return render(
        request, "scheduling/schedule_list.html", organization_page_context(request, rows=rows)
    )


@organization_view(Permission.HOST)
def schedule_create(request: OrganizationRequest) -> HttpResponse:
    form = ScheduleForm(request.POST or None, access=request.access, with_host=True)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schedule = create_schedule(
                request.access,
                host=data.get("host") or request.user,
                name=data["name"],
                time_zone=data["time_zone"],
                weekly_hours=data["weekly_hours"],
            )
        except ValidationError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, "Schedule created.")
            return redirect(
                "scheduling:schedule_edit",
                org_slug=request.organization.slug,
                schedule_id=schedule.public_id,
            )
    return render(
        request,
        "scheduling/schedule_form.html",
        organization_page_context(request, form=form),
        status=status,
    )


def _schedule_page(
    request: OrganizationRequest,
    schedule: Schedule,
    *,
    form: ScheduleForm | None = None,
    override_form: DateOverrideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    form = form or ScheduleForm(
        initial=ScheduleForm.initial_for(schedule), access=request.access, with_host=False
    )
    overrides = [
        (override, format_ranges_text(override.ranges))
        for override in schedule.overrides.order_by("date")
    ]
    return render(
        request,
        "scheduling/schedule_form.html",
        organization_page_context(
            request,
            form=form,
            schedule=schedule,
            overrides=overrides,
            override_form=override_form or DateOverrideForm(),
            meeting_types=list(schedule.meeting_types.order_by("name")),
        ),
        status=status,
    )


@organization_view(Permission.HOST)
def schedule_edit(request: OrganizationRequest, schedule_id: str) -> HttpResponse:
    schedule = get_schedule_for(request.access, schedule_id)
    if request.method != "POST":
        return _schedule_page(request, schedule)
    form = ScheduleForm(request.POST, access=request.access, with_host=False)
    if form.is_valid():
        data = form.cleaned_data
        try:
            update_schedule(
                request.access,
                schedule,
                name=data["name"],
                time_zone=data["time_zone"],
                weekly_hours=data["weekly_hours"],
            )
        except ValidationError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, "Schedule saved.")
            return redirect(
                "scheduling:schedule_edit",
                org_slug=request.organization.slug,
                schedule_id=schedule.public_id,
            )
    schedule.refresh_from_db()
    return _schedule_page(request, schedule, form=form, status=400)


@organization_view(Permission.HOST)
@require_http_methods(["GET", "POST"])
def schedule_delete(request: OrganizationRequest, schedule_id: str) -> HttpResponse:
    schedule = get_schedule_for(request.access, schedule_id)
    if request.method == "GET":
        users = [meeting_type.name for meeting_type in schedule.meeting_types.order_by("name")]
        return render_confirmation(
            request,
            title=f"Delete the schedule {schedule.name}?",
            consequences=[
                "Its weekly hours and date overrides are deleted. This cannot be undone.",
            ],
            button="Delete schedule",
            back_url=_schedule_url(request, schedule),
            refusal=(
                f"Used by {', '.join(users)}: give "
                f"{'it' if len(users) == 1 else 'them'} another schedule before deleting this one."
                if users
                else ""
            ),
        )
    try:
        delete_schedule(request.access, schedule)
    except ScheduleInUseError as refusal:
        messages.error(request, refusal.message)
        return _schedule_page(request, schedule, status=409)
    messages.success(request, "Schedule deleted.")
    return redirect("scheduling:schedules", org_slug=request.organization.slug)


@organization_view(Permission.HOST)
@require_POST
def override_set(request: OrganizationRequest, schedule_id: str) -> HttpResponse:
    schedule = get_schedule_for(request.access, schedule_id)
    form = DateOverrideForm(request.POST)
    if form.is_valid():
        try:
            set_date_override(
                request.access,
                schedule,
                day=form.cleaned_data["date"],
                ranges=form.cleaned_data["range_list"],
            )
        except ValidationError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, "Date override saved.")
            return redirect(
                "scheduling:schedule_edit",
                org_slug=request.organization.slug,
                schedule_id=schedule.public_id,
            )
    return _schedule_page(request, schedule, override_form=form, status=400)


@organization_view(Permission.HOST)
@require_http_methods(["GET", "POST"])
def override_remove(
    request: OrganizationRequest, schedule_id: str, override_id: str
) -> HttpResponse:
    schedule = get_schedule_for(request.access, schedule_id)
    override = get_override_for(schedule, override_id)
    if request.method == "GET":
        return render_confirmation(
            request,
            title=f"Remove the override for {override.date:%A %-d %B %Y}?",
            consequences=[f"The weekly hours of {schedule.name} apply again on that day."],
            button="Remove override",
            back_url=_schedule_url(request, schedule),
        )
    remove_date_override(request.access, override)
    messages.success(request, "Date override removed.")
    return redirect(
        "scheduling:schedule_edit",
        org_slug=request.organization.slug,
        schedule_id=schedule.public_id,
    )


@organization_view(Permission.HOST)
def meeting_type_list(request: OrganizationRequest) -> HttpResponse:
    rows = [
        (meeting_type, _booking_url(request, meeting_type))
        for meeting_type in meeting_types_for(request.access)
    ]
    return render(
        request, "scheduling/meeting_type_list.html", organization_page_context(request, rows=rows)
    )


def _meeting_type_form(
    request: OrganizationRequest, meeting_type: MeetingType
) -> tuple[MeetingTypeForm, bool]:
    """Return the page's form and whether the POST asks to save it.

    A question action ("Add a question", "Move up"…) only rearranges what was typed and
    shows it again, unjudged; the page saves on its own button.
    """
    if request.method != "POST":
        return MeetingTypeForm(instance=meeting_type, access=request.access), False
    if QUESTION_ACTION not in request.POST:
        return MeetingTypeForm(request.POST, instance=meeting_type, access=request.access), True
    try:
        data = rearranged_questions(request.POST)
    except ValidationError as error:
        form = MeetingTypeForm(request.POST, instance=meeting_type, access=request.access)
        form.hide_errors()
        form.add_error(None, error)
        return form, False
    form = MeetingTypeForm(data, instance=meeting_type, access=request.access)
    form.hide_errors()
    return form, False


def _form_status(request: OrganizationRequest, form: MeetingTypeForm) -> int:
    return 400 if request.method == "POST" and form.has_errors() else 200


@organization_view(Permission.HOST)
def meeting_type_create(request: OrganizationRequest) -> HttpResponse:
    draft = MeetingType(organization=request.organization, host=cast(User, request.user))
    form, saving = _meeting_type_form(request, draft)
    if saving and form.is_valid():
        try:
            meeting_type = create_meeting_type(
                request.access, host=form.chosen_host(), values=form.values()
            )
        except ValidationError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, "Meeting type created.")
            return redirect(
                "scheduling:meeting_type_edit",
                org_slug=request.organization.slug,
                meeting_type_id=meeting_type.public_id,
            )
    return render(
        request,
        "scheduling/meeting_type_form.html",
        organization_page_context(
            request, form=form, has_schedule=schedules_for(request.access).exists()
        ),
        status=_form_status(request, form),
    )


@organization_view(Permission.HOST)
def meeting_type_edit(request: OrganizationRequest, meeting_type_id: str) -> HttpResponse:
    meeting_type = get_meeting_type_for(request.access, meeting_type_id)
    form, saving = _meeting_type_form(request, meeting_type)
    if saving and form.is_valid():
        try:
            update_meeting_type(
                request.access, meeting_type, host=form.chosen_host(), values=form.values()
            )
        except ValidationError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, "Meeting type saved.")
            return redirect(
                "scheduling:meeting_type_edit",
                org_slug=request.organization.slug,
                meeting_type_id=meeting_type.public_id,
            )
    saved = MeetingType.objects.get(pk=meeting_type.pk)
    return render(
        request,
        "scheduling/meeting_type_form.html",
        organization_page_context(
            request,
            form=form,
            meeting_type=saved,
            booking_url=_booking_url(request, saved),
            has_schedule=True,
        ),
        status=_form_status(request, form),
    )


@organization_view(Permission.HOST)
@require_http_methods(["GET", "POST"])
def meeting_type_delete(request: OrganizationRequest, meeting_type_id: str) -> HttpResponse:
    meeting_type = get_meeting_type_for(request.access, meeting_type_id)
    if request.method == "GET":
        back_url = reverse(
            "scheduling:meeting_type_edit",
            kwargs={"org_slug": request.organization.slug, "meeting_type_id": meeting_type_id},
        )
        # The same rule retire_meeting_type applies: bookings keep their meeting type.
        if meeting_type.bookings.exists():
            return render_confirmation(
                request,
                title=f"Disable {meeting_type.name}?",
                consequences=[
                    "It has bookings, so it is disabled rather than deleted: its booking page "
                    "stops taking bookings at once, and the bookings keep their rules.",
                ],
                button="Disable meeting type",
                back_url=back_url,
            )
        return render_confirmation(
            request,
            title=f"Delete {meeting_type.name}?",
            consequences=[
                "Its booking page stops working at once. This cannot be undone.",
            ],
            button="Delete meeting type",
            back_url=back_url,
        )
    if retire_meeting_type(request.access, meeting_type):
        messages.success(request, "Meeting type deleted.")
    else:
        messages.info(
            request, "This meeting type has bookings, so it was disabled instead of deleted."
        )
    return redirect("scheduling:meeting_types", org_slug=request.organization.slug)

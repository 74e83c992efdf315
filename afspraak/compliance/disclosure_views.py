"""Vulnerability disclosure pages: security.txt, the policy and the report form (public),
and the staff's triage pages under ``/staff/disclosures/``."""

from allauth.core.ratelimit import consume_or_429
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from afspraak.audit.context import AuditContext
from afspraak.compliance.disclosure import (
    TRANSITIONS,
    change_report_state,
    get_report,
    policy_promises,
    read_attachment,
    read_report,
    security_txt,
    submit_report,
    triage_overdue,
)
from afspraak.compliance.forms import DisclosureReportForm, DisclosureStateForm
from afspraak.compliance.models import DisclosureReport, DisclosureState
from afspraak.compliance.uploads import bounded_report_upload
from afspraak.compliance.views import staff_view
from afspraak.errors import DomainError


@require_GET
@never_cache
def security_txt_file(request: HttpRequest) -> HttpResponse:
    # Written at each request, so its Expires is always ahead.
    return HttpResponse(security_txt(), content_type="text/plain; charset=utf-8")


@require_GET
def security_txt_legacy(request: HttpRequest) -> HttpResponse:
    return redirect("compliance:security_txt", permanent=True)


@require_GET
def disclosure(request: HttpRequest) -> HttpResponse:
    return render(request, "compliance/disclosure.html", policy_promises())


@require_http_methods(["GET", "POST"])
@bounded_report_upload
def disclosure_report(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and (
        refused := consume_or_429(request, action="disclosure_report")
    ):
        return refused
    form = DisclosureReportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            attachment = form.cleaned_data["attachment"]
            try:
                report = submit_report(
                    AuditContext.from_request(request),
                    email=form.cleaned_data["email"],
                    summary=form.cleaned_data["summary"],
                    details=form.cleaned_data["details"],
                    attachment_name=attachment.name if attachment else "",
                    attachment=attachment.read() if attachment else b"",
                )
            except DomainError as error:
                form.add_error(None, error.message)
                status = error.status
            else:
                return render(
                    request,
                    "compliance/disclosure_received.html",
                    {"report": report, **policy_promises()},
                )
    return render(
        request,
        "compliance/disclosure_report.html",
        {"form": form, **policy_promises()},
        status=status,
    )


@staff_view
def staff_disclosures(request: HttpRequest) -> HttpResponse:
    reports = list(DisclosureReport.objects.order_by("-received_at", "-id")[:100])
    return render(
        request,
        "compliance/staff_disclosures.html",
        {"reports": [(report, triage_overdue(report)) for report in reports]},
    )


@staff_view
@require_http_methods(["GET", "POST"])
def staff_disclosure(request: HttpRequest, report_id: str) -> HttpResponse:
    report = get_report(report_id)
    context = AuditContext.from_request(request)
    if request.method == "POST":
        form = DisclosureStateForm(request.POST)
        if not form.is_valid():
            raise DomainError("Choose one of the states offered.")
        change_report_state(context, report, form.cleaned_data["state"])
        messages.success(request, "Report updated.")
        return redirect("compliance:staff_disclosure", report_id=report.public_id)
    contents = read_report(context, report)
    next_states = [
        (state, DisclosureState(state).label)
        for state in TRANSITIONS[DisclosureState(report.state)]
    ]
    return render(
        request,
        "compliance/staff_disclosure.html",
        {
            "report": report,
            "contents": contents,
            "next_states": sorted(next_states),
            "overdue": triage_overdue(report),
        },
    )


@staff_view
@require_GET
@never_cache
def staff_disclosure_attachment(request: HttpRequest, report_id: str) -> HttpResponse:
    report = get_report(report_id)
    name, data = read_attachment(AuditContext.from_request(request), report)
    # Whatever the reporter uploaded is served as opaque bytes to save, never rendered:
    # a reported exploit page must not run in the staff member's session.
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    return response

"""The operator's security console: open alerts and incidents, for staff with MFA only."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from afspraak.audit.alerts import review_deadline
from afspraak.audit.models import Alert, AlertStatus, Incident, IncidentStatus, Severity
from afspraak.security import review
from afspraak.security.review import INCIDENT_FLOW, Reviewer

View = Callable[..., HttpResponse]


def staff_view(view: Callable[..., HttpResponse]) -> View:
    """Log in first; then refuse (403, audited) anyone but staff who used a second factor."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        reviewer = review.reviewer_for_request(request)
        return view(request, reviewer, *args, **kwargs)

    return wrapped


@require_GET
@staff_view
def console(request: HttpRequest, reviewer: Reviewer) -> HttpResponse:
    alerts = list(Alert.objects.exclude(status=AlertStatus.CLOSED).order_by("raised_at", "id"))
    for alert in alerts:
        alert.deadline = alert.raised_at + review_deadline(alert)  # type: ignore[attr-defined]
    incidents = (
        Incident.objects.exclude(status=IncidentStatus.CLOSED)
        .select_related("owner")
        .order_by("declared_at", "id")
    )
    return render(
        request,
        "security/console.html",
        {
            "alerts": alerts,
            "incidents": incidents,
            "severities": Severity.choices,
            "statuses": [(status.value, status.label) for status in INCIDENT_FLOW],
        },
    )


@require_POST
@staff_view
def alert_acknowledge(request: HttpRequest, reviewer: Reviewer, alert_id: str) -> HttpResponse:
    review.acknowledge_alert(reviewer, alert_id)
    return redirect("security:console")


@require_POST
@staff_view
def alert_close(request: HttpRequest, reviewer: Reviewer, alert_id: str) -> HttpResponse:
    review.close_alert(reviewer, alert_id, request.POST.get("reason", ""))
    return redirect("security:console")


@require_POST
@staff_view
def alert_declare(request: HttpRequest, reviewer: Reviewer, alert_id: str) -> HttpResponse:
    review.declare_incident(
        reviewer,
        alert_id,
        severity=request.POST.get("severity", ""),
        title=request.POST.get("title", ""),
    )
    return redirect("security:console")


@require_POST
@staff_view
def incident_update(request: HttpRequest, reviewer: Reviewer, incident_id: str) -> HttpResponse:
    review.update_incident(
        reviewer,
        incident_id,
        status=request.POST.get("status", ""),
        note=request.POST.get("note", ""),
    )
    return redirect("security:console")

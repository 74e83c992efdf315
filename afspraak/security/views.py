"""The operator's security console: open alerts and incidents, for staff with MFA in good
standing only; containment also asks for a recent re-authentication."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from afspraak.audit.alerts import review_deadline
from afspraak.audit.models import Alert, AlertStatus, Incident, IncidentStatus, Severity
from afspraak.errors import NotFoundError
from afspraak.security import containment, review
from afspraak.security.models import MemberSuspension
from afspraak.security.review import INCIDENT_FLOW, Reviewer

View = Callable[..., HttpResponse]


def staff_view(view: Callable[..., HttpResponse]) -> View:
    """Log in first; then refuse (403, audited) anyone but staff in good standing who used a
    second factor: every console page shows or changes customer data."""

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


@require_GET
@staff_view
def incident(request: HttpRequest, reviewer: Reviewer, incident_id: str) -> HttpResponse:
    found = Incident.objects.select_related("owner").filter(public_id=incident_id).first()
    if found is None:
        raise NotFoundError("No such incident.")
    return render(
        request,
        "security/incident.html",
        {
            "incident": found,
            "notes": found.notes.select_related("author"),
            "alerts": found.alerts.all(),
            "suspensions": MemberSuspension.objects.filter(incident=found, lifted_at__isnull=True)
            .select_related("organization", "user")
            .order_by("suspended_at"),
            "statuses": [(status.value, status.label) for status in INCIDENT_FLOW],
            "is_open": found.status != IncidentStatus.CLOSED,
        },
    )


def _confirm(
    request: HttpRequest, *, title: str, consequences: list[str], button: str, incident_id: str
) -> HttpResponse:
    """Ask before a containment action; the page's form POSTs the same fields to this URL."""
    return render(
        request,
        "security/confirm.html",
        {
            "confirm_title": title,
            "consequences": consequences,
            "confirm_button": button,
            "back_url": reverse("security:incident", args=[incident_id]),
            "fields": {key: request.GET.get(key, "") for key in ("user", "organization")},
        },
    )


def _done(incident_id: str) -> HttpResponse:
    return redirect("security:incident", incident_id=incident_id)


@require_http_methods(["GET", "POST"])
@staff_view
def end_sessions(request: HttpRequest, reviewer: Reviewer, incident_id: str) -> HttpResponse:
    if request.method == "POST":
        containment.end_account_sessions(reviewer, incident_id, request.POST.get("user", ""))
        return _done(incident_id)
    user = containment.account_named(request.GET.get("user", ""))
    return _confirm(
        request,
        title=f"End every session of {user.email}?",
        consequences=[
            "They are logged out at once on every device, in every organization. Their API "
            "tokens are not sessions: revoke those too if they may be known.",
            "If their password may be known to the attacker, suspend them too: logging in "
            "again is not prevented.",
        ],
        button="End their sessions",
        incident_id=incident_id,
    )


def _member_action(
    request: HttpRequest,
    reviewer: Reviewer,
    incident_id: str,
    act: Callable[[Reviewer, str, str, str], object],
    confirmation: Callable[[Any, Any], tuple[str, list[str], str]],
) -> HttpResponse:
    """Do ``act`` to the member a POST names, or ask to confirm it for the one a GET names.

    ``confirmation(user, organization)`` gives the confirmation's title, consequences and
    button.
    """
    if request.method == "POST":
        act(
            reviewer,
            incident_id,
            request.POST.get("organization", ""),
            request.POST.get("user", ""),
        )
        return _done(incident_id)
    user = containment.account_named(request.GET.get("user", ""))
    organization = containment.organization_named(request.GET.get("organization", ""))
    title, consequences, button = confirmation(user, organization)
    return _confirm(
        request, title=title, consequences=consequences, button=button, incident_id=incident_id
    )


@require_http_methods(["GET", "POST"])
@staff_view
def revoke_tokens(request: HttpRequest, reviewer: Reviewer, incident_id: str) -> HttpResponse:
    return _member_action(
        request,
        reviewer,
        incident_id,
        containment.revoke_member_api_tokens,
        lambda user, organization: (
            f"Revoke every API token of {user.email} in {organization.name}?",
            [
                "Every program using one of them is refused from its next call. The tokens "
                "cannot be restored: the member makes new ones when the incident is over.",
            ],
            "Revoke their tokens",
        ),
    )


@require_http_methods(["GET", "POST"])
@staff_view
def suspend_member(request: HttpRequest, reviewer: Reviewer, incident_id: str) -> HttpResponse:
    return _member_action(
        request,
        reviewer,
        incident_id,
        containment.suspend_member,
        lambda user, organization: (
            f"Suspend {user.email} in {organization.name}?",
            [
                f"Every page and action of {organization.name} refuses them from their next "
                "request until you lift the suspension here. Their other organizations are "
                "not affected.",
            ],
            "Suspend the member",
        ),
    )


@require_POST
@staff_view
def lift_suspension(
    request: HttpRequest, reviewer: Reviewer, incident_id: str, suspension_id: str
) -> HttpResponse:
    containment.lift_suspension(reviewer, incident_id, suspension_id)
    return _done(incident_id)


@require_http_methods(["GET", "POST"])
@staff_view
def rotate_keys(request: HttpRequest, reviewer: Reviewer, incident_id: str) -> HttpResponse:
    if request.method == "POST":
        containment.rotate_organization_keys(
            reviewer, incident_id, request.POST.get("organization", "")
        )
        return _done(incident_id)
    organization = containment.organization_named(request.GET.get("organization", ""))
    return _confirm(
        request,
        title=f"Rotate the keys of {organization.name}?",
        consequences=[
            "A new data key and a new blind-index key are made, every row of the "
            "organization is re-sealed under them in the background, and the old keys are "
            "destroyed: what a stolen key could open is re-encrypted.",
            "Its start and end appear in the audit trail (crypto.org_key.*); one that does "
            "not finish raises an alert.",
        ],
        button="Rotate the keys",
        incident_id=incident_id,
    )

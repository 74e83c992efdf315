"""Access-review pages (an organization's owners at ``/o/<org>/access-review/``, the
security reviewer at ``/staff/access-review/``) and the staff's read-only pentest register."""

from django.contrib import messages
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from afspraak.audit.context import AuditContext
from afspraak.compliance.checks import no_recent_pentest
from afspraak.compliance.models import (
    PentestEngagement,
    PentestFinding,
    ReviewCampaign,
    ReviewDecision,
    ReviewItemKind,
)
from afspraak.compliance.pentests import open_findings_by_severity
from afspraak.compliance.reviews import (
    decide_review_item,
    decide_staff_review_item,
    get_review_item_for,
    get_staff_review_item,
    is_security_reviewer,
    open_campaign,
    review_items_of,
    staff_review_items,
    token_abilities_of,
)
from afspraak.compliance.views import staff_view, staff_view_without_customer_data
from afspraak.tenancy.pages import (
    OrganizationRequest,
    organization_page_context,
    organization_view,
    render_confirmation,
)
from afspraak.tenancy.roles import Permission

REVOKE_CONSEQUENCE = {
    ReviewItemKind.MEMBERSHIP: "{email} becomes a plain member of {organization} at once: "
    "no more managing members, settings or the audit log.",
    ReviewItemKind.SUPPORT_GRANT: "{email}'s support access to {organization} ends at once.",
    ReviewItemKind.API_TOKEN: "This API token of {email} in {organization} is revoked at once: "
    "programs using it are refused from their next call.",
}


def _review_page(request: OrganizationRequest) -> str:
    return reverse("compliance:access_review", args=[request.organization.slug])


@organization_view(Permission.MANAGE_OWNERS)
def access_review(request: OrganizationRequest) -> HttpResponse:
    campaign = open_campaign()
    items = list(review_items_of(request.access))
    abilities = token_abilities_of(request.access, items)
    # Each item with what it lets its holder do, for an API token (empty otherwise).
    rows = [(i, abilities.get(i.subject_public_id, "")) for i in items]
    last = ReviewCampaign.objects.exclude(completed_at=None).order_by("-completed_at").first()
    return render(
        request,
        "compliance/access_review.html",
        organization_page_context(
            request,
            campaign=campaign,
            pending=[(i, can) for i, can in rows if i.decision == ReviewDecision.PENDING],
            decided=[(i, can) for i, can in rows if i.decision != ReviewDecision.PENDING],
            last_completed=last,
        ),
    )


@organization_view(Permission.MANAGE_OWNERS)
@require_POST
def access_review_confirm(request: OrganizationRequest, item_id: str) -> HttpResponse:
    item = get_review_item_for(request.access, item_id)
    decide_review_item(request.access, item, confirm=True)
    messages.success(request, f"Confirmed: {item.user.email} keeps this access.")
    return redirect(_review_page(request))


@organization_view(Permission.MANAGE_OWNERS)
@require_http_methods(["GET", "POST"])
def access_review_revoke(request: OrganizationRequest, item_id: str) -> HttpResponse:
    item = get_review_item_for(request.access, item_id)
    if request.method == "GET":
        return render_confirmation(
            request,
            title="Revoke this access?",
            consequences=[
                REVOKE_CONSEQUENCE[ReviewItemKind(item.kind)].format(
                    email=item.user.email, organization=request.organization.name
                ),
                "The decision is recorded in the audit log and in the review's report.",
            ],
            button="Revoke access",
            back_url=_review_page(request),
        )
    decide_review_item(request.access, item, confirm=False)
    messages.success(request, f"Revoked: {item.user.email} no longer has this access.")
    return redirect(_review_page(request))


@staff_view
def staff_access_review(request: HttpRequest) -> HttpResponse:
    items = list(staff_review_items())
    return render(
        request,
        "compliance/staff_access_review.html",
        {
            "campaign": open_campaign(),
            "pending": [i for i in items if i.decision == ReviewDecision.PENDING],
            "decided": [i for i in items if i.decision != ReviewDecision.PENDING],
            "reviewer": is_security_reviewer(request.user),
            "completed": ReviewCampaign.objects.exclude(completed_at=None).order_by(
                "-completed_at"
            )[:12],
        },
    )


@staff_view
@require_POST
def staff_access_review_confirm(request: HttpRequest, item_id: str) -> HttpResponse:
    item = get_staff_review_item(item_id)
    decide_staff_review_item(AuditContext.from_request(request), item, confirm=True)
    messages.success(request, f"Confirmed: {item.user.email} stays staff.")
    return redirect("compliance:staff_access_review")


@staff_view
@require_http_methods(["GET", "POST"])
def staff_access_review_revoke(request: HttpRequest, item_id: str) -> HttpResponse:
    item = get_staff_review_item(item_id)
    if request.method == "GET":
        return render(
            request,
            "compliance/staff_confirm.html",
            {
                "confirm_title": "Revoke this staff account?",
                "consequences": [
                    f"{item.user.email} loses staff rights at once: no staff pages, no "
                    "support access, no admin.",
                ],
                "confirm_button": "Revoke staff rights",
                "back_url": reverse("compliance:staff_access_review"),
            },
        )
    decide_staff_review_item(AuditContext.from_request(request), item, confirm=False)
    messages.success(request, f"Revoked: {item.user.email} is no longer staff.")
    return redirect("compliance:staff_access_review")


# The operator's own pentest register: findings, not customers' data.
@staff_view_without_customer_data
def staff_pentests(request: HttpRequest) -> HttpResponse:
    today = timezone.now().date()
    findings = list(
        PentestFinding.objects.select_related("engagement").order_by(
            F("resolved_on").asc(nulls_first=True), "due_on", "id"
        )[:200]
    )
    return render(
        request,
        "compliance/staff_pentests.html",
        {
            "check": no_recent_pentest(),
            "engagements": PentestEngagement.objects.order_by("-performed_on", "-id")[:20],
            "findings": [(finding, finding.is_overdue(today)) for finding in findings],
            "open_counts": open_findings_by_severity(),
        },
    )

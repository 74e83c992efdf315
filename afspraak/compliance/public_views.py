"""The operator's public programme pages: the subprocessor register and the trust page."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from afspraak.compliance.subprocessors import (
    NOTICE_DAYS,
    is_subscribed,
    public_register,
    subscribe_to_subprocessors,
    unsubscribe_from_subprocessors,
)
from afspraak.compliance.trust import cached_trust_figures
from afspraak.tenancy.pages import OrganizationRequest, organization_page_context, organization_view
from afspraak.tenancy.roles import Permission


@require_GET
def subprocessors(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "compliance/subprocessors.html",
        {
            "subprocessors": list(public_register()),
            "today": timezone.now().date(),
            "notice_days": NOTICE_DAYS,
        },
    )


@organization_view(Permission.MANAGE_OWNERS)
def subprocessor_notices(request: OrganizationRequest) -> HttpResponse:
    return render(
        request,
        "compliance/subprocessor_notices.html",
        organization_page_context(
            request, subscribed=is_subscribed(request.access), notice_days=NOTICE_DAYS
        ),
    )


@organization_view(Permission.MANAGE_OWNERS)
@require_POST
def subprocessor_subscription(request: OrganizationRequest) -> HttpResponse:
    if request.POST.get("subscribe") == "yes":
        if not is_subscribed(request.access):
            subscribe_to_subprocessors(request.access)
        messages.success(request, "You will be e-mailed of every new subprocessor.")
    else:
        unsubscribe_from_subprocessors(request.access)
        messages.success(request, "You will no longer be e-mailed of new subprocessors.")
    return redirect(reverse("compliance:subprocessor_notices", args=[request.organization.slug]))


@require_GET
def trust(request: HttpRequest) -> HttpResponse:
    figures = cached_trust_figures()
    now = timezone.now()
    return render(
        request,
        "compliance/trust.html",
        {
            "figures": figures,
            "backup_age": now - figures.last_backup_at if figures.last_backup_at else None,
            "mfa_percent": (
                round(100 * figures.staff_with_mfa / figures.staff_total)
                if figures.staff_total
                else None
            ),
        },
    )

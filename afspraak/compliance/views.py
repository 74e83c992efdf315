"""Support-access pages: the organization's owners decide (``/o/<org>/support/``), staff ask
and, when the organization chose so, a second staff member decides (``/staff/support/``)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from afspraak.accounts.middleware import is_staff_account
from afspraak.accounts.sessions import session_used_second_factor
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.compliance.forms import (
    ApprovalConfirmationForm,
    ApproverForm,
    DecisionForm,
    SupportRequestForm,
)
from afspraak.compliance.models import Approver, GrantState, SupportGrant
from afspraak.compliance.standing import REFUSAL_MESSAGES, standing_refusal
from afspraak.compliance.support import (
    GRANT_NOT_FOUND,
    approver_of,
    decide_support_grant,
    decide_support_grant_as_staff,
    get_grant_for_staff,
    get_support_grant_for,
    request_support_access,
    revoke_support_grant,
    revoke_support_grant_as_staff,
    set_support_approver,
    support_grants_of,
    support_max_hours,
)
from afspraak.errors import DomainError, ForbiddenError, NotFoundError
from afspraak.tenancy.models import Organization
from afspraak.tenancy.pages import (
    OrganizationRequest,
    organization_page_context,
    organization_view,
    render_confirmation,
)
from afspraak.tenancy.roles import Permission
from afspraak.tenancy.staff_standing import require_staff_standing

# --- The organization's owners --------------------------------------------------------------


def _support_page(request: OrganizationRequest) -> str:
    return reverse("compliance:support_requests", args=[request.organization.slug])


@organization_view(Permission.MANAGE_SUPPORT_ACCESS)
def support_requests(request: OrganizationRequest) -> HttpResponse:
    grants = list(support_grants_of(request.access)[:50])
    now = timezone.now()
    approver = approver_of(request.organization)
    return render(
        request,
        "compliance/support_requests.html",
        organization_page_context(
            request,
            pending=[g for g in grants if g.state == GrantState.REQUESTED],
            active=[g for g in grants if g.is_active(now)],
            past=[g for g in grants if g.state != GrantState.REQUESTED and not g.is_active(now)],
            approver=approver,
            owners_decide=approver == Approver.OWNER,
            approver_form=ApproverForm(initial={"approver": approver}),
        ),
    )


@organization_view(Permission.MANAGE_SUPPORT_ACCESS)
@require_POST
def support_approver(request: OrganizationRequest) -> HttpResponse:
    form = ApproverForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose who approves support access.")
        return redirect(_support_page(request))
    set_support_approver(request.access, form.cleaned_data["approver"])
    messages.success(request, "Saved who approves support access.")
    return redirect(_support_page(request))


def _approval_refusal(request: OrganizationRequest, grant: SupportGrant) -> str:
    if grant.state != GrantState.REQUESTED:
        return "This request was already decided."
    if approver_of(request.organization) != Approver.OWNER:
        return "A second staff member decides this request, not the organization."
    return ""


@organization_view(Permission.MANAGE_SUPPORT_ACCESS)
@require_http_methods(["GET", "POST"])
def support_decide(request: OrganizationRequest, grant_id: str) -> HttpResponse:
    grant = get_support_grant_for(request.access, grant_id)
    if request.method == "GET":
        # Approving opens the organization's data: the owner reads what they give first.
        organization = request.organization.name
        return render_confirmation(
            request,
            title=f"Give {grant.staff.email} access to {organization}?",
            consequences=[
                f"They can read {organization}'s members, security settings and audit log, "
                f"without changing anything, for {grant.hours} hours from now.",
                f"Their reason: {grant.reason}",
                "Every page they open appears in your audit log; you can end it at any moment.",
            ],
            button="Approve support access",
            back_url=_support_page(request),
            form=ApprovalConfirmationForm(),
            refusal=_approval_refusal(request, grant),
        )
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Approve or refuse the request.")
        return redirect(_support_page(request))
    approve = form.cleaned_data["decision"] == "approve"
    decide_support_grant(request.access, grant, approve=approve)
    messages.success(request, "Support access approved." if approve else "Request refused.")
    return redirect(_support_page(request))


@organization_view(Permission.MANAGE_SUPPORT_ACCESS)
@require_http_methods(["GET", "POST"])
def support_revoke(request: OrganizationRequest, grant_id: str) -> HttpResponse:
    grant = get_support_grant_for(request.access, grant_id)
    if request.method == "GET":
        return render_confirmation(
            request,
            title="End this support access?",
            consequences=[
                f"{grant.staff.email} loses access to {request.organization.name} at once.",
                "Staff must ask again, and be approved again, to look again.",
            ],
            button="End support access",
            back_url=_support_page(request),
        )
    revoke_support_grant(request.access, grant)
    messages.success(request, "Support access ended.")
    return redirect(_support_page(request))


# --- Staff ----------------------------------------------------------------------------------

SECOND_FACTOR_FIRST = "Log in with your second factor to use the staff pages."


def _staff_page(
    view: Callable[..., HttpResponse], *, needs_standing: bool
) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_account(request.user):
            raise NotFoundError("No such page.")
        context = AuditContext.from_request(request)
        if not session_used_second_factor(request):
            record(
                "compliance.staff_page.refused",
                context=context,
                outcome=Outcome.DENIED,
                data={"reason": "session_without_second_factor"},
            )
            raise ForbiddenError(SECOND_FACTOR_FIRST)
        if needs_standing:
            page = getattr(request.resolver_match, "view_name", "")
            require_staff_standing(request.user, context, page=page)
        return view(request, *args, **kwargs)

    return wrapper


def staff_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve the operator's staff in good standing only: others get the 404 of a page not there.

    Staff whose session did not go through their second factor are refused (403,
    audited), as on the security console: a stolen password alone opens nothing. A staff
    member without a current agreement, policy acknowledgement or training is refused
    (403, ``tenancy.access.denied`` with the staff gate's reason): these pages show or
    change customer data — disclosure reports, organizations' support grants.
    """
    return _staff_page(view, needs_standing=True)


def staff_view_without_customer_data(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Serve staff with a second factor, in good standing or not: the page holds no customer data.

    For the pages where a staff member sees and mends their own standing, asks for
    support access or ends it, and reads the operator's own records (the pentest register).
    """
    return _staff_page(view, needs_standing=False)


@staff_view_without_customer_data
@require_http_methods(["GET", "POST"])
def staff_support(request: HttpRequest) -> HttpResponse:
    form = SupportRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            organization = Organization.objects.filter(
                slug=form.cleaned_data["organization"]
            ).first()
            if organization is None:
                form.add_error("organization", "No organization has this address.")
            else:
                try:
                    request_support_access(
                        AuditContext.from_request(request),
                        organization,
                        reason=form.cleaned_data["reason"],
                        hours=form.cleaned_data["hours"],
                    )
                except DomainError as error:
                    form.add_error(None, error.message)
                    status = error.status
                else:
                    messages.success(
                        request, f"Asked for access to {organization.name}: waiting for approval."
                    )
                    return redirect("compliance:staff_support")
    now = timezone.now()
    mine = list(
        SupportGrant.objects.filter(staff_id=request.user.pk)
        .select_related("organization")
        .order_by("-requested_at", "-id")[:50]
    )
    refusal = standing_refusal(request.user)
    # Colleagues' requests name customers and say why: for staff in good standing only.
    waiting = (
        []
        if refusal
        else list(
            SupportGrant.objects.filter(approver=Approver.STAFF, state=GrantState.REQUESTED)
            .exclude(staff_id=request.user.pk)
            .select_related("organization", "staff")
            .order_by("requested_at", "id")
        )
    )
    return render(
        request,
        "compliance/staff_support.html",
        {
            "form": form,
            "mine": [(grant, grant.is_active(now)) for grant in mine],
            "waiting": waiting,
            "standing_problem": REFUSAL_MESSAGES.get(refusal, "") if refusal else "",
            "max_hours": support_max_hours(),
        },
        status=status,
    )


@staff_view
@require_POST
def staff_support_decide(request: HttpRequest, grant_id: str) -> HttpResponse:
    grant = get_grant_for_staff(request.user, grant_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        raise NotFoundError(GRANT_NOT_FOUND)
    approve = form.cleaned_data["decision"] == "approve"
    decide_support_grant_as_staff(AuditContext.from_request(request), grant, approve=approve)
    messages.success(request, "Support access approved." if approve else "Request refused.")
    return redirect("compliance:staff_support")


# Ending a grant closes access: a staff member out of standing may always do it.
@staff_view_without_customer_data
@require_POST
def staff_support_revoke(request: HttpRequest, grant_id: str) -> HttpResponse:
    grant = get_grant_for_staff(request.user, grant_id)
    revoke_support_grant_as_staff(AuditContext.from_request(request), grant)
    messages.success(request, "Support access ended.")
    return redirect("compliance:staff_support")

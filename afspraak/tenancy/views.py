"""Organization pages: parse, check, call one domain function, render (eagerly, in context)."""

from typing import cast

from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from afspraak.audit.context import AuditContext
from afspraak.audit.models import AuditEvent
from afspraak.tenancy.access import (
    get_invitation_for,
    get_membership_for,
    members_of,
)
from afspraak.tenancy.audit_log import (
    EXPORT_FORMATS,
    audit_events_for,
    export_audit_log,
    readable_lines,
)
from afspraak.tenancy.errors import InvitationRefusedError, TenancyError
from afspraak.tenancy.forms import (
    AuditFilterForm,
    DeleteOrganizationForm,
    InviteForm,
    OrganizationForm,
    RoleForm,
    SecurityForm,
    assignable_roles,
)
from afspraak.tenancy.invitations import (
    accept_invitation,
    invite_member,
    organization_joined_with,
    preview_invitation,
    revoke_invitation,
)
from afspraak.tenancy.membership import change_member_role, leave_organization, remove_member
from afspraak.tenancy.models import Invitation, Membership
from afspraak.tenancy.organizations import (
    create_organization,
    delete_organization,
    deletion_summary,
    update_security_settings,
)
from afspraak.tenancy.pages import (
    CURRENT_ORGANIZATION_SESSION_KEY,
    OrganizationRequest,
    organization_page_context,
    organization_view,
    render_confirmation,
)
from afspraak.tenancy.pending_invitations import (
    accept_pending_invitation,
    decline_pending_invitation,
    forget_invitation,
    remember_invitation,
)
from afspraak.tenancy.roles import Permission, Role

AUDIT_PAGE_SIZE = 50


def _refused(request: HttpRequest, error: TenancyError) -> HttpResponse:
    return render(request, "tenancy/refused.html", {"message": str(error)}, status=error.status)


@login_required
def create(request: HttpRequest) -> HttpResponse:
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organization = create_organization(
                AuditContext.from_request(request),
                name=form.cleaned_data["name"],
                slug=form.cleaned_data["slug"],
            )
        except TenancyError as error:
            form.add_error(None, str(error))
            return render(request, "tenancy/create.html", {"form": form}, status=error.status)
        request.session[CURRENT_ORGANIZATION_SESSION_KEY] = organization.public_id
        return redirect("tenancy:home", org_slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(request, "tenancy/create.html", {"form": form}, status=status)


def _is_last_owner(request: OrganizationRequest) -> bool:
    # The organization's tenant context is active, so this counts its owners only.
    return (
        request.membership.role == Role.OWNER
        and not Membership.objects.filter(role=Role.OWNER)
        .exclude(pk=request.membership.pk)
        .exists()
    )


def _last_owner_reason(request: OrganizationRequest) -> str:
    return (
        f"You are the last owner of {request.organization.name}: make someone else owner "
        "on the Members page before you leave."
    )


@organization_view()
def home(request: OrganizationRequest) -> HttpResponse:
    last_owner_reason = _last_owner_reason(request) if _is_last_owner(request) else ""
    return render(
        request,
        "tenancy/home.html",
        organization_page_context(request, last_owner_reason=last_owner_reason),
    )


@organization_view()
@require_POST
def switch(request: OrganizationRequest) -> HttpResponse:
    request.session[CURRENT_ORGANIZATION_SESSION_KEY] = request.organization.public_id
    messages.success(
        request,
        f"{request.organization.name} is now your current organization: your home page shows it.",
    )
    return redirect("tenancy:home", org_slug=request.organization.slug)


@organization_view()
@require_http_methods(["GET", "POST"])
def leave(request: OrganizationRequest) -> HttpResponse:
    if request.method == "GET":
        name = request.organization.name
        return render_confirmation(
            request,
            title=f"Leave {name}?",
            consequences=[
                f"You lose access to {name} at once: its pages, bookings and schedules.",
                "To come back you need a new invitation from an owner or admin.",
            ],
            button="Leave organization",
            back_url=reverse("tenancy:home", args=[request.organization.slug]),
            refusal=_last_owner_reason(request) if _is_last_owner(request) else "",
        )
    try:
        leave_organization(request.access)
    except TenancyError as error:
        return _refused(request, error)
    if request.session.get(CURRENT_ORGANIZATION_SESSION_KEY) == request.organization.public_id:
        del request.session[CURRENT_ORGANIZATION_SESSION_KEY]
    messages.success(request, f"You left {request.organization.name}.")
    return redirect("home")


@organization_view(Permission.VIEW_MEMBERS)
def members(request: OrganizationRequest) -> HttpResponse:
    members = list(members_of(request.access))
    can_manage = request.access.has(Permission.MANAGE_MEMBERS)
    invitations = (
        list(
            Invitation.objects.filter(
                revoked_at__isnull=True,
                accepted_at__isnull=True,
                declined_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).select_related("invited_by")
        )
        if can_manage
        else []
    )
    declined = (
        list(Invitation.objects.filter(declined_at__isnull=False).order_by("-declined_at")[:20])
        if can_manage
        else []
    )
    return render(
        request,
        "tenancy/members.html",
        organization_page_context(
            request,
            members=members,
            invitations=invitations,
            declined_invitations=declined,
            can_manage=can_manage,
            can_manage_owners=request.access.has(Permission.MANAGE_OWNERS),
            roles=assignable_roles(request.access.has(Permission.MANAGE_OWNERS)),
        ),
    )


@organization_view(Permission.MANAGE_MEMBERS)
def invite(request: OrganizationRequest) -> HttpResponse:
    form = InviteForm(
        request.POST or None, may_make_owners=request.access.has(Permission.MANAGE_OWNERS)
    )
    if request.method == "POST" and form.is_valid():
        try:
            invite_member(
                request.access, email=form.cleaned_data["email"], role=form.cleaned_data["role"]
            )
        except TenancyError as error:
            form.add_error(None, str(error))
            return render(
                request,
                "tenancy/invite.html",
                organization_page_context(request, form=form),
                status=error.status,
            )
        messages.success(request, "Invitation sent. The link works once, for 7 days.")
        return redirect("tenancy:members", org_slug=request.organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "tenancy/invite.html", organization_page_context(request, form=form), status=status
    )


@organization_view(Permission.MANAGE_MEMBERS)
@require_POST
def member_role(request: OrganizationRequest, member_id: str) -> HttpResponse:
    membership = get_membership_for(request.access, member_id, write=True)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _refused(request, TenancyError("Choose one of the roles offered."))
    try:
        change_member_role(request.access, membership, form.cleaned_data["role"])
    except TenancyError as error:
        return _refused(request, error)
    messages.success(request, "Role changed.")
    return redirect("tenancy:members", org_slug=request.organization.slug)


@organization_view(Permission.MANAGE_MEMBERS)
@require_http_methods(["GET", "POST"])
def member_remove(request: OrganizationRequest, member_id: str) -> HttpResponse:
    membership = get_membership_for(request.access, member_id, write=True)
    if request.method == "GET":
        person = membership.user.full_name or membership.user.email
        return render_confirmation(
            request,
            title=f"Remove {person} from {request.organization.name}?",
            consequences=[
                f"{person} ({membership.user.email}) loses access at once and is logged out "
                "everywhere.",
                "Unless you confirmed your password in the last few minutes, you will be asked "
                "for it first. You can invite them again later.",
            ],
            button="Remove member",
            back_url=reverse("tenancy:members", args=[request.organization.slug]),
        )
    try:
        remove_member(request.access, membership)
    except TenancyError as error:
        return _refused(request, error)
    messages.success(request, "Member removed; their sessions have ended.")
    return redirect("tenancy:members", org_slug=request.organization.slug)


@organization_view(Permission.MANAGE_MEMBERS)
@require_http_methods(["GET", "POST"])
def invitation_revoke(request: OrganizationRequest, invitation_id: str) -> HttpResponse:
    invitation = get_invitation_for(request.access, invitation_id)
    if request.method == "GET":
        return render_confirmation(
            request,
            title=f"Withdraw the invitation to {invitation.email}?",
            consequences=[
                "The link we e-mailed stops working at once. You can invite them again later.",
            ],
            button="Withdraw invitation",
            back_url=reverse("tenancy:members", args=[request.organization.slug]),
        )
    try:
        revoke_invitation(request.access, invitation)
    except TenancyError as error:
        return _refused(request, error)
    messages.success(request, "Invitation withdrawn.")
    return redirect("tenancy:members", org_slug=request.organization.slug)


@organization_view(Permission.VIEW_SECURITY)
def security(request: OrganizationRequest) -> HttpResponse:
    can_manage = request.access.has(Permission.MANAGE_SECURITY)
    return render(
        request, "tenancy/security.html", organization_page_context(request, can_manage=can_manage)
    )


@organization_view(Permission.MANAGE_SECURITY)
def security_edit(request: OrganizationRequest) -> HttpResponse:
    organization = request.organization
    initial = {
        "require_mfa": organization.require_mfa,
        "session_max_age_hours": organization.session_max_age_hours,
    }
    form = SecurityForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            update_security_settings(
                request.access,
                require_mfa=form.cleaned_data["require_mfa"],
                session_max_age_hours=form.cleaned_data["session_max_age_hours"],
            )
        except TenancyError as error:
            form.add_error(None, str(error))
            return render(
                request,
                "tenancy/security_edit.html",
                organization_page_context(request, form=form),
                status=error.status,
            )
        messages.success(request, "Security settings saved.")
        return redirect("tenancy:security", org_slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "tenancy/security_edit.html",
        organization_page_context(request, form=form),
        status=status,
    )


@organization_view(Permission.DELETE_ORGANIZATION)
def delete(request: OrganizationRequest) -> HttpResponse:
    organization = request.organization
    form = DeleteOrganizationForm(request.POST or None)
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        try:
            delete_organization(
                request.access, confirmation_slug=form.cleaned_data["confirmation_slug"]
            )
        except TenancyError as error:
            form.add_error("confirmation_slug", str(error))
            status = error.status
        else:
            if request.session.get(CURRENT_ORGANIZATION_SESSION_KEY) == organization.public_id:
                del request.session[CURRENT_ORGANIZATION_SESSION_KEY]
            messages.success(request, f"{organization.name} and all its data were deleted.")
            return redirect("home")
    summary = deletion_summary(organization)
    return render(
        request,
        "tenancy/delete.html",
        organization_page_context(request, form=form, summary=summary),
        status=status,
    )


@organization_view(Permission.VIEW_AUDIT_LOG)
def audit_log(request: OrganizationRequest) -> HttpResponse:
    members = list(members_of(request.access))
    form = AuditFilterForm(request.GET or None, members=members)
    status = 200
    events: QuerySet[AuditEvent]
    if form.is_bound and not form.is_valid():
        status = 400
        events = AuditEvent.objects.none()
    else:
        events = audit_events_for(request.access, form.filters()).select_related("actor")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    # An export needs a recent password confirmation: until then the export buttons
    # confirm it first and come back here, where they then download.
    confirm_first = ""
    if not request.access.is_reauthenticated():
        back = urlencode({REDIRECT_FIELD_NAME: request.get_full_path()})
        confirm_first = f"{reverse('account_reauthenticate')}?{back}"
    return render(
        request,
        "tenancy/audit_log.html",
        organization_page_context(
            request,
            form=form,
            page=page,
            lines=readable_lines(request.access, list(page)),
            query=query.urlencode(),
            export_formats=EXPORT_FORMATS,
            confirm_first=confirm_first,
        ),
        status=status,
    )


@require_GET
@organization_view(Permission.VIEW_AUDIT_LOG)
def audit_log_export(request: OrganizationRequest) -> HttpResponse:
    members = list(members_of(request.access))
    query = request.GET.copy()
    export_format = query.pop("format", ["csv"])[-1]
    form = AuditFilterForm(query, members=members)
    if export_format not in EXPORT_FORMATS or not form.is_valid():
        return HttpResponse(
            "Choose the format csv or json, and valid filters (as on the audit log page).",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    chunks = export_audit_log(request.access, form.filters(), export_format)
    content_type = "text/csv" if export_format == "csv" else "application/json"
    response = StreamingHttpResponse(chunks, content_type=f"{content_type}; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = (
        f'attachment; filename="audit-{request.organization.slug}-{stamp}.{export_format}"'
    )
    # organization_view is typed for plain responses; Django serves a streaming one alike.
    return cast(HttpResponse, response)


def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        preview = preview_invitation(token)
    except InvitationRefusedError as refusal:
        # Logging in from the invitation page accepts it (pending_invitations), and the
        # login then returns here: take the new member in, not to "already used".
        joined = (
            organization_joined_with(token, request.user) if request.user.is_authenticated else None
        )
        if joined is not None:
            request.session[CURRENT_ORGANIZATION_SESSION_KEY] = joined.public_id
            return redirect("tenancy:home", org_slug=joined.slug)
        return render(
            request, "tenancy/invitation.html", {"refusal": str(refusal)}, status=refusal.status
        )
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            membership = accept_invitation(AuditContext.from_request(request), token)
        except InvitationRefusedError as refusal:
            return render(
                request,
                "tenancy/invitation.html",
                {"refusal": str(refusal), "preview": preview},
                status=refusal.status,
            )
        organization = membership.organization
        request.session[CURRENT_ORGANIZATION_SESSION_KEY] = organization.public_id
        messages.success(request, f"Welcome to {organization.name}.")
        return redirect("tenancy:home", org_slug=organization.slug)
    if not request.user.is_authenticated:
        # Kept for after sign-up, e-mail verification and login (pending_invitations).
        remember_invitation(request, token)
    return render(request, "tenancy/invitation.html", {"preview": preview, "token": token})


@login_required
@require_POST
def pending_invitation(request: HttpRequest) -> HttpResponse:
    """Accept or decline a remembered invitation from the home page, or put it aside for now."""
    key = request.POST.get("invitation", "")
    decision = request.POST.get("decision")
    if decision == "later":
        forget_invitation(request, key)
        messages.success(
            request, "The invitation is put aside; its link still works until it expires."
        )
        return redirect("home")
    if decision == "decline":
        try:
            decline_pending_invitation(request, key)
        except InvitationRefusedError as refusal:
            return _refused(request, refusal)
        messages.success(request, "You declined the invitation. Whoever invited you will see it.")
        return redirect("home")
    if decision != "accept":
        return _refused(
            request,
            InvitationRefusedError("invalid", "Choose Accept, Decline or Not now.", 400),
        )
    try:
        membership = accept_pending_invitation(request, key)
    except InvitationRefusedError as refusal:
        return _refused(request, refusal)
    messages.success(request, f"Welcome to {membership.organization.name}.")
    return redirect("tenancy:home", org_slug=membership.organization.slug)

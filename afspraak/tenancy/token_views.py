"""The API tokens page: a member's own tokens (every token, for those who see security)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from afspraak.errors import DomainError
from afspraak.tenancy.api_tokens import (
    DEFAULT_LIFETIME_DAYS,
    api_tokens_of,
    create_api_token,
    get_api_token_for,
    revoke_api_token,
)
from afspraak.tenancy.forms import ApiTokenForm
from afspraak.tenancy.pages import (
    OrganizationRequest,
    organization_page_context,
    organization_view,
    render_confirmation,
)
from afspraak.tenancy.roles import Permission


@organization_view(Permission.MANAGE_OWN_API_TOKENS)
def api_tokens(request: OrganizationRequest) -> HttpResponse:
    tokens = list(api_tokens_of(request.access))
    return render(
        request,
        "tenancy/api_tokens.html",
        organization_page_context(
            request,
            tokens=tokens,
            sees_all=request.access.has(Permission.VIEW_SECURITY),
            can_manage=request.access.has(Permission.MANAGE_MEMBERS),
        ),
    )


@organization_view(Permission.MANAGE_OWN_API_TOKENS)
@require_http_methods(["GET", "POST"])
def api_token_create(request: OrganizationRequest) -> HttpResponse:
    # Asked before the form, so the secret is never lost to a password prompt after it.
    request.access.require(Permission.MANAGE_OWN_API_TOKENS, reauthenticated=True)
    form = ApiTokenForm(request.POST or None, initial={"lifetime_days": DEFAULT_LIFETIME_DAYS})
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = create_api_token(
                request.access,
                name=form.cleaned_data["name"],
                scope=form.cleaned_data["scope"],
                lifetime_days=form.cleaned_data["lifetime_days"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            response = render(
                request,
                "tenancy/api_token_created.html",
                organization_page_context(request, token=token, secret=secret),
            )
            # The secret is on this page only: no cache may keep it.
            response["Cache-Control"] = "no-store"
            return response
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "tenancy/api_token_create.html",
        organization_page_context(request, form=form),
        status=status,
    )


@organization_view(Permission.MANAGE_OWN_API_TOKENS)
@require_http_methods(["GET", "POST"])
def api_token_revoke(request: OrganizationRequest, token_id: str) -> HttpResponse:
    token = get_api_token_for(request.access, token_id, write=True)
    back = reverse("tenancy:api_tokens", args=[request.organization.slug])
    if request.method == "GET":
        return render_confirmation(
            request,
            title=f"Revoke the API token “{token.name}” ({token.prefix}…)?",
            consequences=[
                "Every program using it is refused from its next call. This cannot be undone: "
                "make a new token if it is needed again.",
            ],
            button="Revoke token",
            back_url=back,
        )
    revoke_api_token(request.access, token)
    messages.success(request, "Token revoked.")
    return redirect(back)

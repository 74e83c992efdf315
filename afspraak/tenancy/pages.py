"""Organization pages: ``organization_view`` builds the request's ``Access`` and runs the view.

The view runs inside the organization's tenant context and must render eagerly
(``render``), so every query happens inside it. Refusals are raised as domain errors and
answered (and audited) by ``afspraak.tenancy.middleware``.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from afspraak.tenancy.access import (
    Access,
    organization_for_request,
    request_access_in_context,
)
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Permission

# The organization a user last chose to work in (its public id), kept in their session.
CURRENT_ORGANIZATION_SESSION_KEY = "afspraak_current_organization"


class OrganizationRequest(HttpRequest):
    """A request that passed ``organization_view``: it carries its ``Access``."""

    access: Access
    organization: Organization
    membership: Membership


def organization_page_context(request: OrganizationRequest, **extra: Any) -> dict[str, Any]:
    """Return what every organization page's template needs (its navigation), plus ``extra``."""
    access = request.access
    return {
        "organization": access.organization,
        "membership": access.membership,
        "permissions": frozenset(p for p in access.permissions if access.has(p)),
        **extra,
    }


def render_confirmation(
    request: OrganizationRequest,
    *,
    title: str,
    consequences: list[str],
    button: str,
    back_url: str,
    form: Any = None,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    """Render the page that asks before a destructive action; its button POSTs to this URL.

    With a ``refusal`` the page says why the action cannot be done and offers no button.
    """
    return render(
        request,
        "confirm.html",
        organization_page_context(
            request,
            confirm_title=title,
            consequences=consequences,
            confirm_button=button,
            back_url=back_url,
            form=form,
            refusal=refusal,
        ),
        status=status,
    )


def organization_view(
    permission: Permission | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Make a view act for the organization in its URL, for members with ``permission``.

    Anonymous users go to the login page; anyone who is not a member gets the same 404
    as for a missing organization; a member without the permission gets 403.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            organization = organization_for_request(request, org_slug)
            # One tenant context for deciding and for the view, so a page pays for one.
            with organization_context(organization, user=request.user):
                access = request_access_in_context(request, organization, permission)
                tenant_request = cast(OrganizationRequest, request)
                tenant_request.access = access
                tenant_request.organization = access.organization
                tenant_request.membership = cast(Membership, access.membership)
                return view(tenant_request, *args, **kwargs)

        return wrapper

    return decorator

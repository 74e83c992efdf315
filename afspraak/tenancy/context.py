"""The tenant context: which organization a request, API call or job acts for (control D3).

Everything that touches tenant data runs inside ``organization_context(org)``: one
transaction, the django-scopes scope of that organization (unscoped queries raise)
and, on PostgreSQL, the transaction-local setting the row-level-security policies
read (``set_config(..., true)``: it ends with the transaction, so it is safe behind a
transaction-pooling proxy). Leaving the context restores the previous values, so
contexts nest.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from afspraak.accounts.middleware import SESSION_STARTED_KEY
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.rls import ORGANIZATION_SETTING, USER_SETTING
from afspraak.tenancy.roles import PERMISSIONS, role_has_permission

# The organization a user last chose to work in (its public id), kept in their session.
CURRENT_ORGANIZATION_SESSION_KEY = "afspraak_current_organization"
# One message for a missing organization and one the user does not belong to.
ORGANIZATION_NOT_FOUND = "No such organization."


class OrganizationRequest(HttpRequest):
    """A request that passed ``organization_view``: it knows its organization and membership."""

    organization: Organization
    membership: Membership


def organization_page_context(request: OrganizationRequest, **extra: Any) -> dict[str, Any]:
    """Return what every organization page's template needs (its navigation), plus ``extra``."""
    return {
        "organization": request.organization,
        "membership": request.membership,
        "permissions": PERMISSIONS.get(request.membership.role, frozenset()),
        **extra,
    }


def _set_local(using: str, values: dict[str, str]) -> dict[str, str]:
    """Set transaction-local settings on PostgreSQL; return the values they replace."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not values:
        return {}
    previous = {}
    with connection.cursor() as cursor:
        for name, value in values.items():
            cursor.execute(
                "SELECT current_setting(%s, true), set_config(%s, %s, true)", [name, name, value]
            )
            previous[name] = cursor.fetchone()[0] or ""
    return previous


@contextmanager
def organization_context(
    organization: Organization, *, user: Any = None, using: str = DEFAULT_DB_ALIAS
) -> Iterator[Organization]:
    """Run the block for ``organization`` alone: a transaction, its scope and its RLS setting."""
    if organization.pk is None:
        raise ValueError("an organization context needs a saved organization")
    values = {ORGANIZATION_SETTING: str(organization.pk)}
    if user is not None and user.pk is not None:
        values[USER_SETTING] = str(user.pk)
    with transaction.atomic(using=using):
        previous = _set_local(using, values)
        with scope(organization=organization):
            yield organization
        # On an exception the transaction (or savepoint) rolls back, which undoes the
        # settings by itself; on success they are put back for an enclosing context.
        _set_local(using, previous)


@contextmanager
def user_context(user: Any, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block where the database lets ``user`` read their own memberships only."""
    with transaction.atomic(using=using):
        previous = _set_local(using, {USER_SETTING: str(user.pk)})
        yield
        _set_local(using, previous)


@contextmanager
def system_context() -> Iterator[str]:
    """Run a system job that must cross organizations; yield the database alias to use.

    The alias (``AFSPRAAK_SYSTEM_DATABASE``) connects as a role that bypasses row-level
    security in production; on SQLite it is the default connection. Only system jobs
    (offboarding across organizations, backups, retention) may use it.
    """
    alias = settings.AFSPRAAK_SYSTEM_DATABASE
    with transaction.atomic(using=alias), scopes_disabled():
        yield alias


def organization_view(
    permission: str | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Make a view act for the organization in its URL, for members with ``permission``.

    Anonymous users go to the login page; anyone who is not a member gets the same 404
    as for a missing organization; a member without the permission gets 403. The view
    runs inside the organization's context and must render eagerly (``render``), so
    every query happens inside it.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, org_slug: str, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            organization = Organization.objects.filter(slug=org_slug).first()
            if organization is None:
                raise Http404(ORGANIZATION_NOT_FOUND)
            user = request.user
            refusal = None
            with organization_context(organization, user=user):
                membership = Membership.objects.filter(user=user).first()
                if membership is None:
                    refusal = "not_member"
                elif permission is not None and not role_has_permission(
                    membership.role, permission
                ):
                    refusal = "permission"
                elif session_too_old(request, organization):
                    refusal = "session_lifetime"
                elif organization.require_mfa and not user.has_mfa():
                    refusal = "mfa_required"
                else:
                    tenant_request = cast(OrganizationRequest, request)
                    tenant_request.organization = organization
                    tenant_request.membership = membership
                    return view(tenant_request, *args, **kwargs)
            return _refuse(request, organization, refusal, permission)

        return wrapper

    return decorator


def session_too_old(request: HttpRequest, organization: Organization) -> bool:
    """Tell whether the session began longer ago than ``organization`` allows."""
    hours = organization.session_max_age_hours
    if not hours:
        return False
    started = request.session.get(SESSION_STARTED_KEY)
    try:
        started_at = datetime.fromisoformat(started) if started else None
    except (TypeError, ValueError):
        started_at = None
    # A session without its login stamp cannot be shown to be young enough.
    return started_at is None or (timezone.now() - started_at).total_seconds() > hours * 3600


def _refuse(
    request: HttpRequest, organization: Organization, refusal: str | None, permission: str | None
) -> HttpResponse:
    data: dict[str, Any] = {"reason": refusal}
    if refusal == "permission":
        data["permission"] = permission
    record(
        "tenancy.access.denied",
        actor=request.user,
        outcome=Outcome.DENIED,
        organization=organization if refusal != "not_member" else None,
        request=request,
        data=data | {"organization": organization.public_id},
    )
    if refusal == "not_member":
        raise Http404(ORGANIZATION_NOT_FOUND)
    if refusal == "permission":
        raise PermissionDenied("Your role in this organization does not allow this.")
    if refusal == "session_lifetime":
        logout(request)
        return redirect_to_login(request.get_full_path())
    return redirect("mfa_index")

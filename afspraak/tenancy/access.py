"""``Access``: the one decision of what an actor may do in an organization (controls O1, D3).

An ``Access`` is built once per request, API call, command or job — by
``access_for_request`` (a member on a page or the API), ``access_for_visitor`` (anyone on
a public booking page), ``access_for_invitee`` (the signed link to one booking) or
``access_for_system`` (an operator's command or a job) — and handed to every domain
function, which checks through it (``access.require(Permission.CANCEL…)``). So pages,
API, commands and jobs cannot disagree.

Every refusal raises ``AccessDeniedError``, which names the permission asked for and why; the
edge that catches it (``tenancy.middleware`` for pages, ``api.errors`` for the API)
records it with ``record_refusal`` after the transaction has rolled back, the same way
everywhere. Later gates (staff training and agreements, support-grant expiry) plug in
with ``register_gate`` and nowhere else (an API token's scope is not a gate: it narrows
the permissions ``access_for_api_token`` gives); a check about the person alone,
whatever they ask (a member suspended during an incident), plugs in with
``register_admission_check`` and also closes the pages that name no permission.

The access helpers at the bottom fetch tenant objects for an ``Access``: another
organization's object and a missing one give the same ``NotFoundError``.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from allauth.account.internal.flows.reauthentication import did_recently_reauthenticate
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django_scopes import scopes_disabled

from afspraak.accounts.middleware import SESSION_STARTED_KEY
from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.errors import ForbiddenError, NotFoundError
from afspraak.tenancy.context import organization_context, user_context
from afspraak.tenancy.models import ApiToken, Invitation, Membership, Organization
from afspraak.tenancy.roles import Permission, role_permissions

ORGANIZATION_NOT_FOUND = "No such organization."
MEMBER_NOT_FOUND = "No such member."
INVITATION_NOT_FOUND = "No such invitation."
ROLE_FORBIDS = "Your role in this organization does not allow this."
REAUTHENTICATE = "Confirm it is you (enter your password again) before this change."
# What a refusal of a permission says, where the general words would say too little.
PERMISSION_REFUSALS: dict[str, str] = {
    "can_manage_owners": "Only an owner can make someone an owner, or change or remove an owner.",
}
SESSION_TOO_OLD = "Your session is older than this organization allows: log in again."
MFA_FIRST = "This organization requires two-factor authentication: turn it on first."


class ActorKind(StrEnum):
    MEMBER = "member"
    VISITOR = "visitor"
    INVITEE = "invitee"
    SYSTEM = "system"
    # One of the operator's staff, through an approved, unexpired support grant.
    STAFF = "staff"


class Refusal(StrEnum):
    """Why an ``Access`` refused; recorded with every ``tenancy.access.denied`` event."""

    NOT_MEMBER = "not_member"
    PERMISSION = "permission"
    SESSION_LIFETIME = "session_lifetime"
    MFA_REQUIRED = "mfa_required"
    REAUTHENTICATION = "reauthentication_required"
    OTHER_BOOKING = "other_booking"
    # An API token used against an organization other than its own: answered as an outsider.
    TOKEN_OTHER_ORGANIZATION = "token_other_organization"  # noqa: S105 (a reason)


# Refusals answered as if the organization did not exist.
_HIDDEN_REFUSALS = frozenset({Refusal.NOT_MEMBER, Refusal.TOKEN_OTHER_ORGANIZATION})


class AccessDeniedError(ForbiddenError):
    """An actor was refused; the edge records it (``record_refusal``) and answers 403/404."""

    def __init__(
        self,
        message: str,
        *,
        organization: Organization,
        context: AuditContext,
        reason: str,
        permission: Permission | None = None,
    ) -> None:
        super().__init__(message)
        self.organization = organization
        self.context = context
        self.reason = reason
        self.permission = permission
        # An outsider learns nothing: they get the answer for an organization that does not exist.
        self.status = 404 if reason in _HIDDEN_REFUSALS else 403
        self.recorded = False


# A gate looks at an access and the permission asked for, and returns a refusal reason or None.
Gate = Callable[["Access", Permission], str | None]
_gates: dict[str, Gate] = {}
# What a person reads when a gate refuses them, by the reason the gate returned.
_gate_messages: dict[str, str] = {}


def register_gate(name: str, gate: Gate, messages: dict[str, str] | None = None) -> None:
    """Add a check every person's ``Access.require`` runs after the permission table."""
    _gates[name] = gate
    _gate_messages.update(messages or {})


def unregister_gate(name: str) -> None:
    """Remove a gate (a test's own, when the test ends)."""
    _gates.pop(name, None)


# An admission check looks at a person's access alone and returns a refusal reason or None.
# It runs when a request or API call enters the organization, before any permission (so
# the pages that name none, like the overview, are closed too), and in every ``require``.
AdmissionCheck = Callable[["Access"], str | None]
_admission_checks: dict[str, AdmissionCheck] = {}


def register_admission_check(
    name: str, check: AdmissionCheck, messages: dict[str, str] | None = None
) -> None:
    """Add a check that refuses a person everything in the organization, pages and API alike."""
    _admission_checks[name] = check
    _gate_messages.update(messages or {})


# An access source gives a signed-in user who is not a member an access to the organization
# (a staff member's support grant), or None; it is asked only for a page or call that names
# the permission it needs, and the access it returns still passes every check below.
AccessSource = Callable[[HttpRequest, Organization, Permission], "Access | None"]
_access_sources: dict[str, AccessSource] = {}


def register_access_source(name: str, source: AccessSource) -> None:
    """Add a way for a non-member to reach an organization (a higher app's, at start-up)."""
    _access_sources[name] = source


def unregister_access_source(name: str) -> None:
    """Remove an access source (a test's own, when the test ends)."""
    _access_sources.pop(name, None)


@dataclass(frozen=True)
class Access:
    """What one actor may do in one organization, for one request, API call, command or job."""

    organization: Organization
    kind: ActorKind
    permissions: frozenset[Permission]
    context: AuditContext
    membership: Membership | None = None
    # The one booking an invitee's link grants (its public id).
    booking_public_id: str | None = None
    # The support grant a staff member's access comes from (its public id).
    support_grant_public_id: str | None = None
    # The API token a member's access comes from (its public id), when not their session.
    api_token_public_id: str | None = None
    # Whether the person confirmed their identity again lately (before a sensitive change):
    # a flag, or a check asked only when a sensitive change needs it (it costs queries).
    reauthenticated: bool | Callable[[], bool] = False

    @property
    def actor(self) -> Any:
        return self.context.actor

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership is not None else None

    def _refusal(self, permission: Permission) -> str | None:
        if permission not in self.permissions:
            return Refusal.PERMISSION
        if self.kind == ActorKind.SYSTEM:
            # Gates are about people (their training, grants, tokens); an operator's command
            # on the server is already past every one of them.
            return None
        reason = self.admission_refusal()
        if reason:
            return reason
        for gate in list(_gates.values()):
            reason = gate(self, permission)
            if reason:
                return reason
        return None

    def admission_refusal(self) -> str | None:
        """Return why this person may not act in the organization at all, or None."""
        if self.kind == ActorKind.SYSTEM:
            return None
        for check in list(_admission_checks.values()):
            reason = check(self)
            if reason:
                return reason
        return None

    def has(self, permission: Permission) -> bool:
        """Tell whether this access allows ``permission`` (for what a page offers)."""
        return self._refusal(permission) is None

    def require(self, permission: Permission, *, reauthenticated: bool = False) -> None:
        """Refuse unless ``permission`` is allowed (and, if asked, recently re-authenticated)."""
        reason = self._refusal(permission)
        if reason is None and reauthenticated and not self.is_reauthenticated():
            reason = Refusal.REAUTHENTICATION
        if reason is not None:
            raise self.denied(reason, permission)

    def is_reauthenticated(self) -> bool:
        """Tell whether the person confirmed their identity lately (a token never has)."""
        check = self.reauthenticated
        return check() if callable(check) else check

    def require_booking(self, booking_public_id: str) -> None:
        """Refuse unless an invitee's access is for this very booking."""
        self.require(Permission.CHANGE_OWN_BOOKING)
        if self.booking_public_id != booking_public_id:
            raise self.denied(Refusal.OTHER_BOOKING, Permission.CHANGE_OWN_BOOKING)

    def denied(self, reason: str, permission: Permission | None = None) -> AccessDeniedError:
        """Return the refusal of ``permission`` for ``reason``, with the message a person reads."""
        messages: dict[str, str] = {
            Refusal.NOT_MEMBER: ORGANIZATION_NOT_FOUND,
            Refusal.REAUTHENTICATION: REAUTHENTICATE,
            Refusal.SESSION_LIFETIME: SESSION_TOO_OLD,
            Refusal.MFA_REQUIRED: MFA_FIRST,
        }
        message = (
            messages.get(reason)
            or _gate_messages.get(reason)
            or PERMISSION_REFUSALS.get(str(permission), ROLE_FORBIDS)
        )
        return AccessDeniedError(
            message,
            organization=self.organization,
            context=self.context,
            reason=reason,
            permission=permission,
        )

    @contextmanager
    def scope(self) -> Iterator[Organization]:
        """Run the block in this organization's tenant context (scope and row-level security)."""
        with organization_context(self.organization, user=self.actor) as organization:
            yield organization


def record_refusal(error: AccessDeniedError) -> None:
    """Record ``error`` once as ``tenancy.access.denied`` (call it after the rollback)."""
    if error.recorded:
        return
    data: dict[str, Any] = {"reason": error.reason, "organization": error.organization.public_id}
    if error.permission is not None:
        data["permission"] = str(error.permission)
    record(
        "tenancy.access.denied",
        context=error.context,
        outcome=Outcome.DENIED,
        # An outsider's probe is not the organization's event: it stays out of its log.
        organization=None if error.reason == Refusal.NOT_MEMBER else error.organization,
        data=data,
    )
    error.recorded = True


def _member_access(
    organization: Organization, user: Any, context: AuditContext, **extra: Any
) -> Access:
    """Return ``user``'s access as a member of ``organization``; refuse an outsider (404)."""
    with organization_context(organization, user=user):
        return _member_access_in_context(organization, user, context, **extra)


def _member_access_in_context(
    organization: Organization, user: Any, context: AuditContext, **extra: Any
) -> Access:
    """Return ``user``'s access, reading the membership in the organization's active context."""
    membership = Membership.objects.select_related("user").filter(user=user).first()
    if membership is None:
        raise AccessDeniedError(
            ORGANIZATION_NOT_FOUND,
            organization=organization,
            context=context,
            reason=Refusal.NOT_MEMBER,
        )
    return Access(
        organization=organization,
        kind=ActorKind.MEMBER,
        permissions=role_permissions(membership.role),
        context=context,
        membership=membership,
        **extra,
    )


def organization_for_request(request: HttpRequest, org_slug: str) -> Organization:
    """Return the organization a signed-in request names; anything else is the same 404."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise NotFoundError(ORGANIZATION_NOT_FOUND)
    organization = Organization.objects.filter(slug=org_slug).first()
    if organization is None:
        raise NotFoundError(ORGANIZATION_NOT_FOUND)
    return organization


def request_access_in_context(
    request: HttpRequest,
    organization: Organization,
    permission: Permission | None = None,
    *,
    members_only: bool = False,
) -> Access:
    """Return the request's access, inside the organization's active context (see below).

    A non-member is refused, unless an access source (staff support access) gives them
    one for this page; ``members_only`` asks no source (the API is for members).
    """
    user = request.user
    if not isinstance(user, User):
        raise NotFoundError(ORGANIZATION_NOT_FOUND)
    try:
        access = _member_access_in_context(
            organization,
            user,
            AuditContext.from_request(request),
            reauthenticated=lambda: did_recently_reauthenticate(request),
        )
    except AccessDeniedError as refusal:
        if members_only:
            raise
        access = _sourced_access(request, organization, permission, refusal)
    if session_too_old(request, organization):
        raise access.denied(Refusal.SESSION_LIFETIME, permission)
    if organization.require_mfa and not user.has_mfa():
        raise access.denied(Refusal.MFA_REQUIRED, permission)
    # Before the permission: a page or call that names none is closed to them too.
    admission = access.admission_refusal()
    if admission is not None:
        raise access.denied(admission, permission)
    if permission is not None:
        access.require(permission)
    return access


def _sourced_access(
    request: HttpRequest,
    organization: Organization,
    permission: Permission | None,
    refusal: AccessDeniedError,
) -> Access:
    """Return a non-member's access from the first source that gives one, or raise ``refusal``."""
    # A page that names no permission is for members only (their overview, leaving).
    if permission is not None:
        for source in list(_access_sources.values()):
            access = source(request, organization, permission)
            if access is not None:
                return access
    raise refusal


def access_for_request(
    request: HttpRequest, org_slug: str, permission: Permission | None = None
) -> Access:
    """Return the access of an API call's user, a member, to ``org_slug`` (needing ``permission``).

    A missing organization and one the user does not belong to give the same 404; a
    session older than the organization allows, or a user without the MFA it requires,
    is refused before any permission is looked at. Staff support access opens pages only.
    """
    token = getattr(request, "api_token", None)
    if isinstance(token, ApiToken):
        return access_for_api_token(token, org_slug, permission, AuditContext.from_request(request))
    organization = organization_for_request(request, org_slug)
    with organization_context(organization, user=request.user):
        return request_access_in_context(request, organization, permission, members_only=True)


def access_for_api_token(
    token: ApiToken, org_slug: str, permission: Permission | None, context: AuditContext
) -> Access:
    """Return the access an API call with a member's (valid) token gives, to ``org_slug``.

    The token's permissions narrowed to its member's role now: a token outlives no
    demotion. Another organization than the token's is refused as an outsider is; a
    removed member, an organization's MFA requirement and the admission checks (a
    suspension) refuse it as they refuse the member's session. A token never counts as
    a recent re-authentication, so the sensitive changes that need one are the session's.
    """
    organization = token.organization
    if organization.slug != org_slug:
        raise AccessDeniedError(
            ORGANIZATION_NOT_FOUND,
            organization=organization,
            context=context,
            reason=Refusal.TOKEN_OTHER_ORGANIZATION,
            permission=permission,
        )
    user = token.user
    with organization_context(organization, user=user):
        access = _member_access_in_context(
            organization, user, context, api_token_public_id=token.public_id
        )
        access = replace(access, permissions=access.permissions & token.granted_permissions)
        if organization.require_mfa and not user.has_mfa():
            raise access.denied(Refusal.MFA_REQUIRED, permission)
        admission = access.admission_refusal()
        if admission is not None:
            raise access.denied(admission, permission)
        if permission is not None:
            access.require(permission)
    return access


def access_for_member(user: Any, organization: Organization, context: AuditContext) -> Access:
    """Return a member's access outside a request (a test, or a command acting as them)."""
    return _member_access(organization, user, context)


def access_for_visitor(organization: Organization, context: AuditContext) -> Access:
    """Return the access of anyone on the organization's public booking pages."""
    return Access(
        organization=organization,
        kind=ActorKind.VISITOR,
        permissions=frozenset({Permission.BOOK_MEETING}),
        context=context,
    )


def access_for_invitee(
    organization: Organization, booking_public_id: str, context: AuditContext
) -> Access:
    """Return the access the signed link to one booking gives its invitee."""
    return Access(
        organization=organization,
        kind=ActorKind.INVITEE,
        permissions=frozenset({Permission.BOOK_MEETING, Permission.CHANGE_OWN_BOOKING}),
        context=context,
        booking_public_id=booking_public_id,
    )


# What a staff member's support grant lets them do: read, never change (control O1).
SUPPORT_PERMISSIONS = frozenset(
    {
        Permission.VIEW_MEMBERS,
        Permission.VIEW_ALL_BOOKINGS,
        Permission.VIEW_SECURITY,
        Permission.VIEW_AUDIT_LOG,
    }
)


def access_for_support_grant(
    organization: Organization,
    grant_public_id: str,
    context: AuditContext,
    *,
    reauthenticated: bool | Callable[[], bool] = False,
) -> Access:
    """Return the read-only access a staff member's active support grant gives them."""
    return Access(
        organization=organization,
        kind=ActorKind.STAFF,
        permissions=SUPPORT_PERMISSIONS,
        context=context,
        support_grant_public_id=grant_public_id,
        reauthenticated=reauthenticated,
    )


def access_for_system(organization: Organization, context: AuditContext) -> Access:
    """Return the access of an operator's command or a job, which acts for the organization."""
    return Access(
        organization=organization,
        kind=ActorKind.SYSTEM,
        permissions=frozenset(Permission),
        context=context,
        reauthenticated=True,
    )


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


def get_membership_for(access: Access, public_id: str, *, write: bool = False) -> Membership:
    """Return the member ``public_id`` as ``access`` may see (or change) it, or 404."""
    access.require(Permission.MANAGE_MEMBERS if write else Permission.VIEW_MEMBERS)
    with access.scope():
        membership = (
            Membership.objects.select_related("user", "organization")
            .filter(public_id=public_id)
            .first()
        )
    if membership is None:
        raise NotFoundError(MEMBER_NOT_FOUND)
    return membership


def get_invitation_for(access: Access, public_id: str) -> Invitation:
    """Return the invitation ``public_id`` if ``access`` manages members, or 404.

    Seeing and changing invitations need the same permission: they name people who
    are not members yet.
    """
    access.require(Permission.MANAGE_MEMBERS)
    with access.scope():
        invitation = (
            Invitation.objects.select_related("organization").filter(public_id=public_id).first()
        )
    if invitation is None:
        raise NotFoundError(INVITATION_NOT_FOUND)
    return invitation


def memberships_of(user: Any) -> list[Membership]:
    """Return ``user``'s own memberships in every organization, by organization name."""
    if not getattr(user, "is_authenticated", False):
        return []
    # A user's own memberships span organizations by nature. On PostgreSQL the database
    # shows only this user's rows (the own-rows policy); the filter says the same here.
    with user_context(user), scopes_disabled():
        return list(
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__name", "organization__id")
        )


def members_of(access: Access) -> QuerySet[Membership]:
    """Return the organization's members (call inside ``access.scope()``)."""
    access.require(Permission.VIEW_MEMBERS)
    return Membership.objects.select_related("user").order_by("user__email", "id")


def organizations_require_mfa(user: Any) -> bool:
    """Tell whether any organization ``user`` belongs to requires MFA of its members."""
    return any(m.organization.require_mfa for m in memberships_of(user))


def organization_session_limit_hours(user: Any) -> int | None:
    """Return the shortest session lifetime (hours) ``user``'s organizations impose, if any."""
    limits = [
        m.organization.session_max_age_hours
        for m in memberships_of(user)
        if m.organization.session_max_age_hours
    ]
    return min(limits) if limits else None

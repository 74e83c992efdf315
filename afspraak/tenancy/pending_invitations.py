"""Invitations a visitor opened before they had an account, kept in their session.

Opening an invitation link while logged out remembers the invitation's public ids (never
its token) in the session. Sign-up, e-mail verification and login keep the session, so
at login the invitation is accepted for the user if their verified address is the
invited one (``accept_invitation_by_id`` checks); one it cannot accept yet stays on the
home page with Accept, Decline (the invitation ends, the inviter sees it) and "Not now"
(only forgotten by this session).
"""

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest

from afspraak.audit.context import AuditContext
from afspraak.tenancy.errors import InvitationRefusedError
from afspraak.tenancy.invitations import (
    InvitationPreview,
    accept_invitation_by_id,
    decline_invitation_by_id,
    identify_invitation,
    preview_invitation_by_id,
)
from afspraak.tenancy.models import Membership
from afspraak.tenancy.pages import CURRENT_ORGANIZATION_SESSION_KEY

SESSION_KEY = "afspraak_pending_invitations"
# A few are plenty; the cap keeps a session from growing with every link opened.
MAX_REMEMBERED = 5


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation remembered in the session, as the home page shows it."""

    key: str
    preview: InvitationPreview


def _remembered(request: HttpRequest) -> list[str]:
    keys = request.session.get(SESSION_KEY, [])
    return [key for key in keys if isinstance(key, str)][:MAX_REMEMBERED]


def _store(request: HttpRequest, keys: list[str]) -> None:
    request.session[SESSION_KEY] = keys[-MAX_REMEMBERED:]


def remember_invitation(request: HttpRequest, token: str) -> None:
    """Keep the usable invitation ``token`` opens in the session, for after login."""
    organization_id, invitation_id = identify_invitation(token)
    key = f"{organization_id}/{invitation_id}"
    _store(request, [k for k in _remembered(request) if k != key] + [key])


def forget_invitation(request: HttpRequest, key: str) -> None:
    """Drop one remembered invitation from the session."""
    _store(request, [k for k in _remembered(request) if k != key])


def pending_invitations(request: HttpRequest) -> list[PendingInvitation]:
    """Return the remembered invitations still usable, forgetting the others."""
    pending, usable = [], []
    for key in _remembered(request):
        organization_id, _, invitation_id = key.partition("/")
        try:
            preview = preview_invitation_by_id(organization_id, invitation_id)
        except InvitationRefusedError:
            continue
        pending.append(PendingInvitation(key, preview))
        usable.append(key)
    if usable != _remembered(request):
        _store(request, usable)
    return pending


def accept_pending_invitation(request: HttpRequest, key: str, *, user: Any = None) -> Membership:
    """Accept a remembered invitation for the request's user; it is forgotten unless theirs.

    ``user`` names the user when the request does not yet (at login).
    """
    if key not in _remembered(request):
        raise InvitationRefusedError("invalid", "That invitation is not waiting for you.", 400)
    organization_id, _, invitation_id = key.partition("/")
    try:
        context = AuditContext.from_request(request)
        if user is not None:
            context = context.acting_as(user)
        membership = accept_invitation_by_id(context, organization_id, invitation_id)
    except InvitationRefusedError as refusal:
        if refusal.code != "wrong_address":
            forget_invitation(request, key)
        raise
    forget_invitation(request, key)
    request.session[CURRENT_ORGANIZATION_SESSION_KEY] = membership.organization.public_id
    return membership


def decline_pending_invitation(request: HttpRequest, key: str) -> None:
    """Decline a remembered invitation for the request's user; it is forgotten unless theirs."""
    if key not in _remembered(request):
        raise InvitationRefusedError("invalid", "That invitation is not waiting for you.", 400)
    organization_id, _, invitation_id = key.partition("/")
    try:
        decline_invitation_by_id(AuditContext.from_request(request), organization_id, invitation_id)
    except InvitationRefusedError as refusal:
        if refusal.code != "wrong_address":
            forget_invitation(request, key)
        raise
    forget_invitation(request, key)


def accept_invitations_at_login(
    sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any
) -> None:
    """Accept, at login, the invitations opened before: those sent to a verified address."""
    if request is None or not hasattr(request, "session"):
        return
    for key in _remembered(request):
        try:
            membership = accept_pending_invitation(request, key, user=user)
        except InvitationRefusedError:
            continue
        # A login without the messages middleware (a test client's) has nowhere to say it.
        messages.success(request, f"Welcome to {membership.organization.name}.", fail_silently=True)

"""Invitations: an admin invites an e-mail address with a role; the link works once, for 7 days.

The link's token is ``<organization public id>.<random secret>``: the first part
tells which organization's (row-level-secured) table to look in, the whole token
is hashed (SHA-256) and only the hash is stored. The invited address is stored
encrypted; a pending invitation to the same address is found by its blind index.
Accepting needs a signed-in user with a verified e-mail address equal to the invited one.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from afspraak.accounts.models import User
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import (
    InvitationRefusedError,
    NotAllowedError,
    RuleViolationError,
    TenancyError,
)
from afspraak.tenancy.membership import acting_membership
from afspraak.tenancy.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    addressed_to,
)
from afspraak.tenancy.roles import Role, role_has_permission

logger = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)
_MAX_TOKEN_LENGTH = 128

INVALID_LINK = (
    "This invitation link is not valid. Check that you copied the whole link, "
    "or ask for a new invitation."
)
_REFUSALS = {
    InvitationStatus.REVOKED: (
        "revoked",
        "This invitation was withdrawn. Ask the organization for a new one.",
        410,
    ),
    InvitationStatus.ACCEPTED: (
        "used",
        "This invitation has already been used. Each invitation link works only once.",
        410,
    ),
    InvitationStatus.EXPIRED: (
        "expired",
        "This invitation has expired (invitations are valid for 7 days). "
        "Ask the organization for a new one.",
        410,
    ),
}
WRONG_ADDRESS = (
    "This invitation was sent to a different e-mail address. Log in with the account "
    "of the address it was sent to (and verify that address) to accept it."
)


def hash_token(token: str) -> str:
    """Return the SHA-256 hash (hex) under which an invitation token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite_member(
    *,
    actor: Any,
    organization: Organization,
    email: str,
    role: str,
    request: HttpRequest | None = None,
) -> tuple[Invitation, str]:
    """Invite ``email`` to join with ``role``; e-mail the link; return it with its token."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise TenancyError("Enter a valid e-mail address.") from None
    if role not in Role.values:
        raise TenancyError("Choose one of the roles offered.")
    with organization_context(organization, user=actor):
        acting = acting_membership(actor, "can_manage_members")
        if role == Role.OWNER and not role_has_permission(acting.role, "can_manage_owners"):
            raise NotAllowedError("Only an owner can invite an owner.")
        if _is_member(email):
            raise RuleViolationError("Someone with this e-mail address is already a member.")
        now = timezone.now()
        if Invitation.objects.filter(
            addressed_to(organization, [email]),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).exists():
            raise RuleViolationError(
                "An invitation to this address is already pending; revoke it to send a new one."
            )
        token = f"{organization.public_id}.{secrets.token_urlsafe(32)}"
        invitation = Invitation.objects.create(
            organization=organization,
            email=email,
            role=role,
            token_hash=hash_token(token),
            invited_by=actor,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        record(
            "tenancy.invitation.created",
            actor=actor,
            organization=organization,
            target=invitation,
            request=request,
            data={"role": role},
        )
        transaction.on_commit(
            partial(_send_invitation, organization.name, role, email, token, invitation.expires_at),
            robust=True,
        )
    return invitation, token


def _is_member(email: str) -> bool:
    """Tell whether someone with ``email`` belongs to the organization of the active context."""
    user_ids = set(User.objects.filter(email=email).values_list("pk", flat=True))
    user_ids |= set(
        EmailAddress.objects.filter(email__iexact=email, verified=True).values_list(
            "user_id", flat=True
        )
    )
    return bool(user_ids) and Membership.objects.filter(user_id__in=user_ids).exists()


def invitation_url(token: str) -> str:
    """Return the absolute link that accepts the invitation ``token``."""
    return settings.SITE_URL + reverse("tenancy:invitation_accept", args=[token])


def _send_invitation(
    organization_name: str, role: str, email: str, token: str, expires_at: Any
) -> None:
    context = {
        "organization_name": organization_name,
        "role": Role(role).label,
        "url": invitation_url(token),
        "expires_at": expires_at,
    }
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + f"You are invited to join {organization_name}",
        message=render_to_string("tenancy/email/invitation.txt", context),
        from_email=None,
        recipient_list=[email],
    )


def revoke_invitation(
    *,
    actor: Any,
    organization: Organization,
    invitation: Invitation,
    request: HttpRequest | None = None,
) -> Invitation:
    """Withdraw a pending invitation so its link no longer works."""
    with organization_context(organization, user=actor):
        acting_membership(actor, "can_manage_members")
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or not locked.is_pending:
            raise RuleViolationError("This invitation is no longer pending.")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record(
            "tenancy.invitation.revoked",
            actor=actor,
            organization=organization,
            target=locked,
            request=request,
            data={"trigger": "manual"},
        )
    return locked


@dataclass(frozen=True)
class InvitationPreview:
    organization_name: str
    role_label: str
    expires_at: Any


def _organization_of(token: str) -> Organization:
    organization_id, separator, secret = token.partition(".")
    if not separator or not secret or len(token) > _MAX_TOKEN_LENGTH:
        raise InvitationRefusedError("invalid", INVALID_LINK, 404)
    organization = Organization.objects.filter(public_id=organization_id).first()
    if organization is None:
        raise InvitationRefusedError("invalid", INVALID_LINK, 404)
    return organization


def _usable_invitation(token: str, *, lock: bool = False) -> Invitation:
    """Return the usable invitation ``token`` opens in the active context, or refuse."""
    invitations = Invitation.objects.select_for_update() if lock else Invitation.objects.all()
    invitation = invitations.filter(token_hash=hash_token(token)).first()
    if invitation is None:
        raise InvitationRefusedError("invalid", INVALID_LINK, 404)
    if invitation.status in _REFUSALS:
        raise InvitationRefusedError(*_REFUSALS[InvitationStatus(invitation.status)])
    return invitation


def preview_invitation(token: str) -> InvitationPreview:
    """Describe the invitation ``token`` opens (organization, role), or refuse a bad link."""
    organization = _organization_of(token)
    with organization_context(organization):
        invitation = _usable_invitation(token)
    return InvitationPreview(
        organization_name=organization.name,
        role_label=Role(invitation.role).label,
        expires_at=invitation.expires_at,
    )


def accept_invitation(*, user: Any, token: str, request: HttpRequest | None = None) -> Membership:
    """Make ``user`` a member as the invitation ``token`` offers, if it is theirs and usable."""
    organization: Organization | None = None
    try:
        organization = _organization_of(token)
        with organization_context(organization, user=user):
            invitation = _usable_invitation(token, lock=True)
            # Decrypting this one invitation keeps the comparison case-insensitive, as
            # allauth compares addresses, without an index of every address of the user.
            if not EmailAddress.objects.filter(
                user=user, verified=True, email__iexact=invitation.email
            ).exists():
                raise InvitationRefusedError("wrong_address", WRONG_ADDRESS, 403)
            if Membership.objects.filter(user=user).exists():
                raise InvitationRefusedError(
                    "already_member", f"You already belong to {organization.name}.", 409
                )
            membership = Membership.objects.create(
                organization=organization, user=user, role=invitation.role
            )
            invitation.accepted_at = timezone.now()
            invitation.accepted_by = user
            invitation.save(update_fields=["accepted_at", "accepted_by"])
            record(
                "tenancy.invitation.accepted",
                actor=user,
                organization=organization,
                target=invitation,
                request=request,
                data={"membership": membership.public_id, "role": membership.role},
            )
    except InvitationRefusedError as refusal:
        record(
            "tenancy.invitation.refused",
            actor=user,
            outcome=Outcome.DENIED,
            organization=organization if refusal.code != "invalid" else None,
            request=request,
            data={"reason": refusal.code},
        )
        raise
    return membership

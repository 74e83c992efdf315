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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from afspraak.accounts.html_email import attach_html_part
from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage, Outcome
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master
from afspraak.tenancy.access import Access
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import InvitationRefusedError, RuleViolationError, TenancyError
from afspraak.tenancy.models import (
    Invitation,
    InvitationStatus,
    Membership,
    Organization,
    addressed_to,
)
from afspraak.tenancy.roles import Permission, Role

logger = logging.getLogger(__name__)

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_EMAIL_TOPIC = "tenancy.invitation_email"
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
    InvitationStatus.DECLINED: (
        "declined",
        "This invitation was declined. Ask the organization for a new one if you changed "
        "your mind.",
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


def invite_member(access: Access, email: str, role: str) -> tuple[Invitation, str]:
    """Invite ``email`` to join with ``role``; e-mail the link; return it with its token."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise TenancyError("Enter a valid e-mail address.") from None
    if role not in Role.values:
        raise TenancyError("Choose one of the roles offered.")
    access.require(Permission.MANAGE_MEMBERS)
    if role == Role.OWNER:
        access.require(Permission.MANAGE_OWNERS)
    organization = access.organization
    with access.scope():
        if _is_member(email):
            raise RuleViolationError("Someone with this e-mail address is already a member.")
        now = timezone.now()
        if Invitation.objects.filter(
            addressed_to(organization, [email]),
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            declined_at__isnull=True,
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
            invited_by=access.actor,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        record(
            "tenancy.invitation.created",
            context=access.context,
            organization=organization,
            target=invitation,
            data={"role": role},
        )
        # The outbox table is not encrypted: the link's secret travels sealed under the
        # master key, bound to this invitation, and the address is read from the
        # (encrypted) invitation when the e-mail is sent.
        enqueue(
            INVITATION_EMAIL_TOPIC,
            {
                "organization": organization.public_id,
                "invitation": invitation.public_id,
                "sealed_token": encrypt_with_master(
                    token.encode(), _token_associated_data(invitation.public_id)
                ).hex(),
            },
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


def _token_associated_data(invitation_public_id: str) -> bytes:
    return f"afspraak.tenancy.invitation-email:{invitation_public_id}".encode()


@handles(INVITATION_EMAIL_TOPIC)
def send_invitation_email(message: OutboxMessage) -> None:
    """E-mail a new invitation's link to the invited address (skipped once it is not pending)."""
    payload = message.payload
    organization = Organization.objects.filter(public_id=payload["organization"]).first()
    if organization is None:
        return
    with organization_context(organization):
        invitation = (
            Invitation.objects.select_related("invited_by")
            .filter(public_id=payload["invitation"])
            .first()
        )
        if invitation is None or not invitation.is_pending:
            return
        email = invitation.email
    token = decrypt_with_master(
        bytes.fromhex(payload["sealed_token"]), _token_associated_data(invitation.public_id)
    ).decode()
    build_invitation_email(organization, invitation, email, token).send()


def build_invitation_email(
    organization: Organization, invitation: Invitation, email: str, token: str
) -> EmailMultiAlternatives:
    """Return the invitation e-mail to ``email``: its link in a text and a branded HTML part."""
    inviter = invitation.invited_by
    url = invitation_url(token)
    context = {
        "organization_name": organization.name,
        # The name the inviter gave at sign-up; an account made without one gives none.
        "inviter_name": inviter.full_name if inviter is not None else "",
        "role": Role(invitation.role).label,
        "url": url,
        "expires_at": invitation.expires_at,
    }
    title = f"You are invited to join {organization.name}"
    message = EmailMultiAlternatives(
        subject=" ".join((settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + title).split()),
        body=render_to_string("tenancy/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    attach_html_part(
        message,
        title=title,
        organization=organization,
        action_url=url,
        action_label="Accept the invitation",
    )
    return message


def revoke_invitation(access: Access, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation so its link no longer works."""
    access.require(Permission.MANAGE_MEMBERS)
    with access.scope():
        locked = Invitation.objects.select_for_update().filter(pk=invitation.pk).first()
        if locked is None or not locked.is_pending:
            raise RuleViolationError("This invitation is no longer pending.")
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        record(
            "tenancy.invitation.revoked",
            context=access.context,
            organization=access.organization,
            target=locked,
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


def organization_joined_with(token: str, user: User) -> Organization | None:
    """Return the organization ``user`` joined with the used invitation ``token``, else None."""
    try:
        organization = _organization_of(token)
    except InvitationRefusedError:
        return None
    with organization_context(organization):
        joined = Invitation.objects.filter(
            token_hash=hash_token(token), accepted_by_id=user.pk
        ).exists()
    return organization if joined else None


def identify_invitation(token: str) -> tuple[str, str]:
    """Return (organization public id, invitation public id) of the usable invitation ``token``."""
    organization = _organization_of(token)
    with organization_context(organization):
        invitation = _usable_invitation(token)
    return organization.public_id, invitation.public_id


def preview_invitation_by_id(organization_id: str, invitation_id: str) -> InvitationPreview:
    """Describe a usable invitation named by its public ids, or refuse it as a bad link."""
    organization = Organization.objects.filter(public_id=organization_id).first()
    if organization is None:
        raise InvitationRefusedError("invalid", INVALID_LINK, 404)
    with organization_context(organization):
        invitation = _usable_invitation_by_id(invitation_id)
    return InvitationPreview(
        organization_name=organization.name,
        role_label=Role(invitation.role).label,
        expires_at=invitation.expires_at,
    )


def _usable_invitation_by_id(invitation_id: str, *, lock: bool = False) -> Invitation:
    invitations = Invitation.objects.select_for_update() if lock else Invitation.objects.all()
    invitation = invitations.filter(public_id=invitation_id).first()
    if invitation is None:
        raise InvitationRefusedError("invalid", INVALID_LINK, 404)
    if invitation.status in _REFUSALS:
        raise InvitationRefusedError(*_REFUSALS[InvitationStatus(invitation.status)])
    return invitation


def accept_invitation(context: AuditContext, token: str) -> Membership:
    """Make the context's user a member as the invitation ``token`` offers, if theirs and usable."""
    return _accept(
        context, lambda: _organization_of(token), lambda: _usable_invitation(token, lock=True)
    )


def accept_invitation_by_id(
    context: AuditContext, organization_id: str, invitation_id: str
) -> Membership:
    """Accept an invitation named by its public ids for the context's user, if theirs and usable.

    The link's token proves that its holder read the invited mailbox; a verified address
    equal to the invited one proves the same, and that check is made here as for a link.
    So a person who opened the link, then signed up and verified the address, joins
    without the token being kept anywhere.
    """

    def organization() -> Organization:
        found = Organization.objects.filter(public_id=organization_id).first()
        if found is None:
            raise InvitationRefusedError("invalid", INVALID_LINK, 404)
        return found

    return _accept(
        context, organization, lambda: _usable_invitation_by_id(invitation_id, lock=True)
    )


def decline_invitation_by_id(
    context: AuditContext, organization_id: str, invitation_id: str
) -> Invitation:
    """Decline a usable invitation named by its public ids for the context's user, if theirs."""
    user = context.actor
    if user is None:
        raise InvitationRefusedError("anonymous", "Log in to decline this invitation.", 403)
    organization = Organization.objects.filter(public_id=organization_id).first()
    if organization is None:
        raise InvitationRefusedError("invalid", INVALID_LINK, 404)
    with organization_context(organization, user=user):
        invitation = _usable_invitation_by_id(invitation_id, lock=True)
        # Only the invited person may say no: otherwise anyone who saw the link could
        # make an invitation unusable for the person it was meant for.
        if not EmailAddress.objects.filter(
            user=user, verified=True, email__iexact=invitation.email
        ).exists():
            raise InvitationRefusedError("wrong_address", WRONG_ADDRESS, 403)
        invitation.declined_at = timezone.now()
        invitation.save(update_fields=["declined_at"])
        record(
            "tenancy.invitation.declined",
            context=context,
            organization=organization,
            target=invitation,
            data={},
        )
    return invitation


def _accept(
    context: AuditContext,
    find_organization: Callable[[], Organization],
    find_invitation: Callable[[], Invitation],
) -> Membership:
    user = context.actor
    if user is None:
        raise InvitationRefusedError("anonymous", "Log in to accept this invitation.", 403)
    organization: Organization | None = None
    try:
        organization = find_organization()
        with organization_context(organization, user=user):
            invitation = find_invitation()
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
                context=context,
                organization=organization,
                target=invitation,
                data={"membership": membership.public_id, "role": membership.role},
            )
    except InvitationRefusedError as refusal:
        record(
            "tenancy.invitation.refused",
            context=context,
            outcome=Outcome.DENIED,
            organization=organization if refusal.code != "invalid" else None,
            data={"reason": refusal.code},
        )
        raise
    return membership

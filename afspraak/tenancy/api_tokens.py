"""Members' API tokens (control O1): made, listed, used and revoked.

A member makes a token for one organization, after confirming their password: a name,
a lifetime (90 days unless they choose, at most a year) and a scope that only narrows
their role (read-only, or what their role allows). The secret, ``afs_`` and 43
characters of 32 random bytes, is shown once; only its HMAC-SHA256 under an
installation secret (``crypto.system_secrets``, purpose ``tenancy.api_token``) is kept,
so a copy of the database cannot be turned into working tokens, with its first eight
characters to recognise it by. Each use is checked again against the member's current
role (``access.access_for_api_token``). Owners and admins see and revoke every token of
their organization, auditors see them all, every member sees and revokes their own.
Removing a member, an access review and incident containment revoke tokens too.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_scopes import scopes_disabled

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.crypto.system_secrets import system_secret
from afspraak.errors import DomainError, NotFoundError
from afspraak.inputs.names import validate_name_text
from afspraak.tenancy.access import Access
from afspraak.tenancy.models import ApiToken, ApiTokenScope
from afspraak.tenancy.roles import Permission

TOKEN_PREFIX = "afs_"  # noqa: S105 (the public prefix)
SECRET_BYTES = 32
# What a person sees of a stored token: ``afs_`` and the secret's first 8 characters.
VISIBLE_CHARACTERS = 8
HASH_PURPOSE = "tenancy.api_token"
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 365
NAME_MAX_LENGTH = 80
# Last use is written at most once a minute per token: a busy integration does not turn
# every call into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_NOT_FOUND = "No such API token."  # noqa: S105 (a message)
# What a read-only token may do, at most (still narrowed to the member's role).
READ_ONLY_PERMISSIONS = frozenset(
    {
        Permission.VIEW_MEMBERS,
        Permission.VIEW_ALL_BOOKINGS,
        Permission.VIEW_SECURITY,
        Permission.VIEW_AUDIT_LOG,
    }
)
# Never through a token: a token does not make or revoke tokens.
_NEVER_BY_TOKEN = frozenset({Permission.MANAGE_OWN_API_TOKENS})
# What each permission lets a token do, as the access review's reviewer reads it.
ABILITIES = {
    Permission.VIEW_MEMBERS: "read the members",
    Permission.VIEW_ALL_BOOKINGS: "read every booking",
    Permission.VIEW_SECURITY: "read the security settings",
    Permission.VIEW_AUDIT_LOG: "read the audit log",
    Permission.HOST: "host meetings",
    Permission.MANAGE_MEETING_TYPES: "change meeting types",
    Permission.MANAGE_MEMBERS: "manage members",
    Permission.MANAGE_OWNERS: "manage owners",
    Permission.MANAGE_INTEGRATIONS: "manage integrations",
    Permission.MANAGE_SECURITY: "change the security settings",
    Permission.MANAGE_SUPPORT_ACCESS: "decide on staff support access",
    Permission.DELETE_ORGANIZATION: "delete the organization",
}


def hash_token(secret: str) -> str:
    """Return the keyed hash a token's secret is stored and found by."""
    return hmac.new(system_secret(HASH_PURPOSE), secret.encode(), hashlib.sha256).hexdigest()


def token_permissions(access: Access, scope: str) -> frozenset[Permission]:
    """Return what a token of ``scope`` made by ``access``'s member may do."""
    role = access.permissions - _NEVER_BY_TOKEN
    if scope == ApiTokenScope.READ:
        return role & READ_ONLY_PERMISSIONS
    if scope == ApiTokenScope.ROLE:
        return role
    raise DomainError("Choose one of the scopes offered.")


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise DomainError("Give the token a name, so you know later what uses it.")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(f"A token's name has at most {NAME_MAX_LENGTH} characters.")
    try:
        validate_name_text(name)
    except ValidationError as error:
        raise DomainError(error.messages[0]) from error
    return name


def create_api_token(
    access: Access, *, name: str, scope: str, lifetime_days: int = DEFAULT_LIFETIME_DAYS
) -> tuple[ApiToken, str]:
    """Make an API token for the acting member; return it and its secret (shown once)."""
    access.require(Permission.MANAGE_OWN_API_TOKENS)
    if access.membership is None or access.api_token_public_id is not None:
        raise DomainError("Only a member, signed in, makes API tokens.")
    name = _clean_name(name)
    if not 1 <= lifetime_days <= MAX_LIFETIME_DAYS:
        raise DomainError(f"A token lasts from 1 to {MAX_LIFETIME_DAYS} days.")
    permissions = token_permissions(access, scope)
    if not permissions:
        raise DomainError("Your role allows nothing in that scope: choose another.")
    access.require(Permission.MANAGE_OWN_API_TOKENS, reauthenticated=True)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    now = timezone.now()
    with access.scope():
        token = ApiToken.objects.create(
            organization=access.organization,
            user=access.actor,
            name=name,
            scope=scope,
            permissions=" ".join(sorted(permissions)),
            prefix=secret[: len(TOKEN_PREFIX) + VISIBLE_CHARACTERS],
            key_hash=hash_token(secret),
            created_at=now,
            expires_at=now + timedelta(days=lifetime_days),
        )
        record(
            "tenancy.api_token.created",
            context=access.context,
            organization=access.organization,
            target=token,
            data={"credential": token.public_id, "scope": scope, "days": lifetime_days},
        )
    return token, secret


def api_tokens_of(access: Access) -> QuerySet[ApiToken]:
    """Return the tokens ``access`` may see: all of them for viewers, else the member's own."""
    access.require(Permission.MANAGE_OWN_API_TOKENS)
    tokens = ApiToken.objects.select_related("user").order_by("-created_at", "-id")
    if access.has(Permission.VIEW_SECURITY):
        return tokens
    return tokens.filter(user=access.actor)


def get_api_token_for(access: Access, public_id: str, *, write: bool = False) -> ApiToken:
    """Return the token ``public_id`` as ``access`` may see (or revoke) it, or 404.

    Another member's token needs member management to revoke; a member who may not see
    it at all gets the same 404 as for a missing one.
    """
    with access.scope():
        token = api_tokens_of(access).filter(public_id=public_id).first()
    if token is None:
        raise NotFoundError(TOKEN_NOT_FOUND)
    if write and token.user_id != getattr(access.actor, "pk", None):
        access.require(Permission.MANAGE_MEMBERS)
    return token


def revoke_api_token(access: Access, token: ApiToken, *, trigger: str = "revoked") -> ApiToken:
    """Revoke a token at once: its next call is refused."""
    if token.user_id != getattr(access.actor, "pk", None):
        access.require(Permission.MANAGE_MEMBERS)
    else:
        access.require(Permission.MANAGE_OWN_API_TOKENS)
    with access.scope():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.revoked_by = access.actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        record(
            "tenancy.api_token.revoked",
            context=access.context,
            organization=access.organization,
            target=locked,
            data={
                "credential": locked.public_id,
                "user": locked.user.public_id,
                "trigger": trigger,
            },
        )
    return locked


def revoke_api_tokens_of(access: Access, user: Any, *, trigger: str) -> int:
    """Revoke every unrevoked token ``user`` has in the organization; return how many."""
    if user.pk == getattr(access.actor, "pk", None):
        access.require(Permission.MANAGE_OWN_API_TOKENS)
    else:
        access.require(Permission.MANAGE_MEMBERS)
    with access.scope():
        tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    for token in tokens:
        revoke_api_token(access, token, trigger=trigger)
    return len(tokens)


def abilities_in_words(permissions: frozenset[Permission]) -> str:
    """Return what a token with ``permissions`` may do, in words, the reads first."""
    return ", ".join(ABILITIES[p] for p in ABILITIES if p in permissions) or "nothing"


def active_api_tokens() -> QuerySet[ApiToken]:
    """Return every token, in every organization, that is neither revoked nor expired."""
    with scopes_disabled():
        return (
            ApiToken.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
            .select_related("user", "organization")
            .order_by("id")
        )


def find_api_token(secret: str) -> ApiToken | None:
    """Return the token whose secret this is (revoked and expired ones too), or None.

    The lookup is by the keyed hash, which a caller cannot steer byte by byte, through a
    unique index; the stored hash is then compared in constant time.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 128:
        return None
    digest = hash_token(secret)
    # The table is outside row-level security for this lookup alone (tenancy/rls.py).
    with scopes_disabled():
        token = (
            ApiToken.objects.select_related("user", "organization").filter(key_hash=digest).first()
        )
    if token is None or not hmac.compare_digest(token.key_hash, digest):
        return None
    return token


def refusal_of(token: ApiToken | None) -> str | None:
    """Return why a presented token is refused (unknown, revoked, expired, inactive), or None."""
    if token is None:
        return "unknown"
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= timezone.now():
        return "expired"
    if not token.user.is_active:
        return "inactive"
    return None


def record_token_refusal(context: AuditContext, token: ApiToken | None, reason: str) -> None:
    """Record that a presented token was refused, in its organization's log when known."""
    record(
        "tenancy.api_token.refused",
        context=context if token is None else context.acting_as(token.user),
        outcome=Outcome.DENIED,
        organization=token.organization if token is not None else None,
        target=token,
        data={"reason": reason, **({"credential": token.public_id} if token else {})},
    )


def note_api_token_use(token: ApiToken) -> None:
    """Remember when a token was last used, writing at most once a minute."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    with scopes_disabled():
        ApiToken.objects.filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    token.last_used_at = now

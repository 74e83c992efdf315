"""``record``: the one way to write an audit event."""

import logging
from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db import models
from django.http import HttpRequest

from afspraak.audit.models import AuditEvent, Outcome

logger = logging.getLogger("afspraak.audit.events")

# Key names that announce a secret, or an e-mail address (personal data), anywhere in the data.
_FORBIDDEN_MARKERS = ("password", "secret", "token", "otp", "email", "e-mail", "e_mail")


def record(
    action: str,
    *,
    actor: Any,
    outcome: str = Outcome.SUCCESS,
    organization: Any = None,
    target: models.Model | None = None,
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event and send it to the SIEM log stream."""
    if outcome not in Outcome.values:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    payload = dict(data or {})
    leaked = sorted(set(_forbidden_keys(payload)))
    if leaked:
        raise ValueError(
            f"audit data must not hold secrets or e-mail addresses: {', '.join(leaked)}"
        )
    user = actor if getattr(actor, "is_authenticated", False) else None
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor=user,
        actor_public_id=getattr(user, "public_id", ""),
        organization=organization,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(getattr(target, "public_id", "") or getattr(target, "pk", ""))
        if target
        else "",
        ip_address=client_ip(request),
        user_agent=(request.headers.get("User-Agent", "")[:300] if request else ""),
        data=payload,
    )
    event.save()
    logger.info(
        action,
        extra={
            "audit_event": event,
            "organization_public_id": getattr(organization, "public_id", None),
        },
    )
    return event


def _forbidden_keys(value: Any) -> list[str]:
    """Return the names in ``value``, nested dicts and lists included, that announce a secret."""
    if isinstance(value, dict):
        found = [str(k) for k in value if any(m in str(k).lower() for m in _FORBIDDEN_MARKERS)]
        return found + [name for item in value.values() for name in _forbidden_keys(item)]
    if isinstance(value, list | tuple):
        return [name for item in value for name in _forbidden_keys(item)]
    return []


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's address, behind trusted proxies as allauth's rate limits see it."""
    if request is None:
        return None
    # The same reading as allauth's per-IP login throttle (ALLAUTH_TRUSTED_PROXY_COUNT), so
    # an audit event and a throttle name the same address. An X-Forwarded-For that does not
    # match the configured proxies names no trustworthy address: none is kept rather than
    # the proxy's own, and the event is still written.
    try:
        return get_account_adapter(request).get_client_ip(request)
    except (ImproperlyConfigured, PermissionDenied):
        return None

"""``AuditContext``: who is acting and from where, as the audit trail needs it.

The edges build it (a page or API request with ``from_request``, a command or job with
``system``) and hand it down; domain functions never see an ``HttpRequest``.
"""

import uuid
from dataclasses import dataclass, replace
from typing import Any

from allauth.account.adapter import get_adapter as get_account_adapter
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import HttpRequest

REQUEST_ID_HEADER = "X-Request-ID"
USER_AGENT_MAX_LENGTH = 300


@dataclass(frozen=True)
class AuditContext:
    """The actor (a user; None for an anonymous visitor or the system) and where they are."""

    actor: Any = None
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request: HttpRequest) -> "AuditContext":
        """Return the context of a web or API request (its user, address, agent and id)."""
        user = getattr(request, "user", None)
        return cls(
            actor=user if getattr(user, "is_authenticated", False) else None,
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:USER_AGENT_MAX_LENGTH],
            request_id=request_id_of(request),
        )

    @classmethod
    def system(cls, actor: Any = None) -> "AuditContext":
        """Return the context of a command or job (run by ``actor`` when someone is named)."""
        return cls(actor=actor, request_id=new_request_id())

    def acting_as(self, actor: Any) -> "AuditContext":
        """Return the same context with another actor (a sign-up that just created its user)."""
        return replace(self, actor=actor)


def new_request_id() -> str:
    """Return a fresh random id that ties the events of one request or job together."""
    return uuid.uuid4().hex


def request_id_of(request: HttpRequest) -> str:
    """Return the id the request-id middleware gave ``request`` (one is made if it has none)."""
    existing = getattr(request, "request_id", "")
    if not existing:
        existing = new_request_id()
        # Kept on the request itself, so its response and every event of it share the id;
        # HttpRequest declares no such attribute, hence the ignore.
        request.request_id = existing  # type: ignore[attr-defined]
    return existing


def client_ip(request: HttpRequest) -> str | None:
    """Return the client's address, behind trusted proxies as allauth's rate limits see it."""
    # The same reading as allauth's per-IP login throttle (ALLAUTH_TRUSTED_PROXY_COUNT), so
    # an audit event and a throttle name the same address. An X-Forwarded-For that does not
    # match the configured proxies names no trustworthy address: none is kept rather than
    # the proxy's own, and the event is still written.
    try:
        return get_account_adapter(request).get_client_ip(request)
    except (ImproperlyConfigured, PermissionDenied):
        return None


def context_of(request: HttpRequest | None) -> AuditContext:
    """Return the context of ``request``, or an empty one where there is no request."""
    return AuditContext.from_request(request) if request is not None else AuditContext()

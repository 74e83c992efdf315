"""``Authorization: Bearer afs_…``: a member's API token as the API's credential (control O1).

The token names its member and organization; the call's ``Access`` is then built by
``tenancy.access.access_for_api_token`` (through ``access_for_request``), so the role,
the gates and the admission checks apply as for the member's session, narrowed to the
token's scope. Unknown, revoked and expired tokens are refused with 401 and audited
(``tenancy.api_token.refused``, by ``api.errors``); an address that sends too many
refused tokens is answered 429 for a while without a lookup. Token calls carry no
cookie, so they need no CSRF token (DRF checks CSRF for session calls only).
"""

from typing import Any

from django.core.cache import cache
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from afspraak.audit.context import AuditContext, client_ip
from afspraak.tenancy.api_tokens import (
    find_api_token,
    note_api_token_use,
    refusal_of,
)
from afspraak.tenancy.models import ApiToken

# Refused tokens allowed from one address in one window before it is answered 429.
FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW_SECONDS = 600
REFUSALS = {
    "malformed": "Send the token as 'Authorization: Bearer afs_…'.",
    "unknown": "This API token is not valid.",
    "revoked": "This API token was revoked.",
    "expired": "This API token has expired: make a new one.",
    "inactive": "This API token's account is deactivated.",
}


class TokenRefusedError(AuthenticationFailed):
    """A presented token was refused; ``api.errors`` records it and answers 401."""

    def __init__(self, reason: str, token: ApiToken | None, context: AuditContext) -> None:
        super().__init__(REFUSALS[reason])
        self.reason = reason
        self.token = token
        self.context = context


def _failures_key(address: str | None) -> str:
    return f"afspraak:api-token-failures:{address or 'unknown'}"


def _count_failure(address: str | None) -> None:
    key = _failures_key(address)
    # add() starts the window only once; incr() counts in the shared cache (all workers).
    cache.add(key, 0, timeout=FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=FAILURE_WINDOW_SECONDS)


class ApiTokenAuthentication(BaseAuthentication):
    """Authenticate a call by its Bearer token; leave calls without one to the session."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != b"bearer":
            return None
        address = client_ip(request._request)
        if (cache.get(_failures_key(address)) or 0) >= FAILURES_PER_ADDRESS:
            raise Throttled(wait=FAILURE_WINDOW_SECONDS)
        context = AuditContext.from_request(request._request)
        token = None
        if len(header) != 2:
            reason: str | None = "malformed"
        else:
            try:
                token = find_api_token(header[1].decode("ascii"))
            except UnicodeDecodeError:
                token = None
            reason = refusal_of(token)
        if reason is not None or token is None:
            _count_failure(address)
            raise TokenRefusedError(reason or "unknown", token, context)
        note_api_token_use(token)
        # access_for_request builds the token's access from it (tenancy.access), from the
        # Django request DRF wraps: the one the middleware and the pages see too. Django's
        # HttpRequest declares no such attribute, hence the ignore.
        request._request.api_token = token  # type: ignore[attr-defined]
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Describe the Bearer token in the API's OpenAPI schema (drf-spectacular finds it here)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "afs_…"}

"""Session lifetimes and enforced MFA: rules allauth offers no setting for."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from afspraak.audit.trail import record

SESSION_STARTED_KEY = "afspraak_started_at"
SESSION_SEEN_KEY = "afspraak_last_seen_at"
_SEEN_WRITE_INTERVAL = 60

# Pages a user who must enrol in MFA may still reach: enrolment itself, re-authentication
# (allauth asks for it before enrolment) and logout.
MFA_ENROLMENT_URL_NAMES = frozenset(
    {
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "mfa_generate_recovery_codes",
        "mfa_view_recovery_codes",
        "mfa_download_recovery_codes",
        "mfa_reauthenticate",
        "account_reauthenticate",
        "account_logout",
        "account_email_verification_sent",
        "account_confirm_email",
    }
)


def session_limits(user: Any) -> tuple[int, int]:
    """Return the absolute and idle session lifetimes (seconds) that apply to ``user``."""
    if user.is_staff or user.is_superuser:
        return settings.STAFF_SESSION_ABSOLUTE_SECONDS, settings.STAFF_SESSION_IDLE_SECONDS
    return settings.SESSION_ABSOLUTE_SECONDS, settings.SESSION_IDLE_SECONDS


class SessionLifetimeMiddleware:
    """End sessions that passed their absolute lifetime or sat idle too long."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = timezone.now()
            started = _read_time(request.session.get(SESSION_STARTED_KEY)) or now
            seen = _read_time(request.session.get(SESSION_SEEN_KEY)) or now
            absolute, idle = session_limits(user)
            reason = None
            if (now - started).total_seconds() > absolute:
                reason = "absolute"
            elif (now - seen).total_seconds() > idle:
                reason = "idle"
            if reason:
                record(
                    "accounts.session.expired",
                    actor=user,
                    request=request,
                    data={"reason": reason},
                )
                logout(request)
            else:
                if SESSION_STARTED_KEY not in request.session:
                    request.session[SESSION_STARTED_KEY] = now.isoformat()
                if (now - seen).total_seconds() >= _SEEN_WRITE_INTERVAL or (
                    SESSION_SEEN_KEY not in request.session
                ):
                    request.session[SESSION_SEEN_KEY] = now.isoformat()
        return self.get_response(request)


def _read_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def mfa_required(request: HttpRequest) -> bool:
    """Tell whether the signed-in user must have MFA before going on (staff always do)."""
    user = request.user
    return bool(user.is_authenticated and (user.is_staff or user.is_superuser))


class RequireMFAMiddleware:
    """Send users who must have MFA but have none to enrolment before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and match.url_name in MFA_ENROLMENT_URL_NAMES:
            return None
        if not mfa_required(request) or request.user.has_mfa():  # type: ignore[union-attr]
            return None
        record(
            "accounts.mfa.enrolment_required",
            actor=request.user,
            outcome="denied",
            request=request,
            data={"path": request.path[:200]},
        )
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Multi-factor authentication must be enabled first."}, status=403
            )
        return redirect("mfa_index")

"""Session lifetimes and enforced MFA (control O2): rules allauth offers no setting for."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils import timezone

from afspraak.accounts.policies import mfa_required_by_policy
from afspraak.audit.context import context_of
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record

SESSION_STARTED_KEY = "afspraak_started_at"
SESSION_SEEN_KEY = "afspraak_last_seen_at"
# Writing the last-seen time on every request would save the session on every request;
# once a minute is precise enough for limits counted in minutes and hours.
_SEEN_WRITE_INTERVAL = 60
# The session row and cookie outlive the absolute limit by this much, so a request that
# arrives just after the limit still finds its session here to be ended and audited
# (refused either way) instead of silently finding none.
SESSION_END_GRACE_SECONDS = 60
# Set on a request whose session this middleware ended, so the logout it causes is not
# audited a second time as a user's own logout.
SESSION_EXPIRED_ATTRIBUTE = "afspraak_session_expired"
# Set on a request that logged someone in, so the session's end date is set again after
# the view: allauth's login form changes the expiry after the login itself.
SESSION_STARTED_ATTRIBUTE = "afspraak_session_started"

# Pages a user who must enrol in MFA may still reach: enrolment itself, re-authentication
# (allauth asks for it before enrolment), e-mail verification (enrolment needs a verified
# address) and logout.
MFA_ENROLMENT_VIEW_NAMES = frozenset(
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
        "account_email",
        "account_email_verification_sent",
        "account_confirm_email",
    }
)
SECOND_FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def is_staff_account(user: Any) -> bool:
    """Tell whether ``user`` is one of the operator's staff (staff or superuser)."""
    return bool(user.is_staff or user.is_superuser)


def session_limits(user: Any) -> tuple[int, int]:
    """Return the absolute and idle session lifetimes (seconds) that apply to ``user``."""
    if is_staff_account(user):
        return settings.STAFF_SESSION_ABSOLUTE_SECONDS, settings.STAFF_SESSION_IDLE_SECONDS
    return settings.SESSION_ABSOLUTE_SECONDS, settings.SESSION_IDLE_SECONDS


def start_session_clock(request: HttpRequest, user: Any) -> None:
    """Stamp a fresh login's session and give it a fixed end date at its absolute limit."""
    now = timezone.now()
    request.session[SESSION_STARTED_KEY] = now.isoformat()
    request.session[SESSION_SEEN_KEY] = now.isoformat()
    setattr(request, SESSION_STARTED_ATTRIBUTE, True)
    set_session_end_date(request, user)


def set_session_end_date(request: HttpRequest, user: Any) -> None:
    """Make the session row and cookie end no later than the session's absolute lifetime."""
    started = _read_time(request.session.get(SESSION_STARTED_KEY))
    if started is None:
        return
    absolute, _idle = session_limits(user)
    # A fixed date, not a number of seconds (which Django counts again from every save),
    # so that neither the browser nor the session table outlives the absolute limit. An
    # earlier fixed date someone else set (an organization's shorter lifetime) is kept;
    # Django keeps a fixed date as a string under this key, seconds as a number.
    end = started + timedelta(seconds=absolute + SESSION_END_GRACE_SECONDS)
    session = request.session
    has_fixed_end = isinstance(session.get("_session_expiry"), str)
    if not has_fixed_end or session.get_expiry_date() > end:
        session.set_expiry(end)


def session_end_reason(request: HttpRequest, now: datetime) -> str | None:
    """Return why the signed-in session must end now ("absolute", "idle"), or None."""
    absolute, idle = session_limits(request.user)
    started = _read_time(request.session.get(SESSION_STARTED_KEY))
    seen = _read_time(request.session.get(SESSION_SEEN_KEY)) or started
    if started is None or seen is None:
        # Every login stamps its session; one without a stamp cannot be bounded: end it.
        return "absolute"
    if (now - started).total_seconds() > absolute:
        return "absolute"
    if (now - seen).total_seconds() > idle:
        return "idle"
    return None


class SessionLifetimeMiddleware:
    """End sessions that passed their absolute lifetime or sat idle too long."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated:
            now = timezone.now()
            reason = session_end_reason(request, now)
            if reason:
                record(
                    "accounts.session.expired",
                    actor=user,
                    target=user,
                    context=context_of(request),
                    data={"reason": reason},
                )
                setattr(request, SESSION_EXPIRED_ATTRIBUTE, True)
                logout(request)
            else:
                seen = _read_time(request.session.get(SESSION_SEEN_KEY))
                if seen is None or (now - seen).total_seconds() >= _SEEN_WRITE_INTERVAL:
                    request.session[SESSION_SEEN_KEY] = now.isoformat()
        response = self.get_response(request)
        if getattr(request, SESSION_STARTED_ATTRIBUTE, False) and request.user.is_authenticated:
            set_session_end_date(request, request.user)
        return response


def _read_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return None


def mfa_required(request: HttpRequest) -> bool:
    """Tell whether the signed-in user must have MFA before going on."""
    user = request.user
    return bool(user.is_authenticated and must_have_mfa(user))


def must_have_mfa(user: Any) -> bool:
    """Tell whether ``user`` must have MFA: staff always, and the members of every
    organization that requires it."""
    if is_staff_account(user):
        return True
    return mfa_required_by_policy(user)


def has_second_factor(user: Any) -> bool:
    """Tell whether ``user`` has a second factor (TOTP or a security key), not just codes."""
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTOR_TYPES).exists()


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
        if match is not None and match.view_name in MFA_ENROLMENT_VIEW_NAMES:
            return None
        if not request.user.is_authenticated or has_second_factor(request.user):
            return None
        if not mfa_required(request):
            return None
        record(
            "accounts.mfa.enrolment_required",
            actor=request.user,
            outcome=Outcome.DENIED,
            target=request.user,
            context=context_of(request),
            data={"view": match.view_name[:100] if match is not None else ""},
        )
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": "Multi-factor authentication must be enabled first."}, status=403
            )
        return redirect("mfa_index")

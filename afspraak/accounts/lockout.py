"""Brute-force lockout: how django-axes recognises an account, answers a lock and lifts it.

django-axes counts failed logins per account (the normalised e-mail address) in the
database, so every worker and every restart sees the same counters. After
``AXES_FAILURE_LIMIT`` failures the account is refused, even with the right password,
until ``AXES_COOLOFF_TIME`` has passed since the last counted failure.
"""

from typing import Any

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_OUT_STATUS = 429


def username_from_attempt(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """Return the normalised e-mail address an attempt used, from the credentials or the form."""
    for source in (credentials or {}, getattr(request, "POST", {}) or {}):
        for field in ("email", "login", "username"):
            value = source.get(field)
            if value:
                return str(value).strip().lower()
    return ""


def was_refused_by_lock(request: HttpRequest | None) -> bool:
    """Tell whether axes refused this request's login because the account was already locked.

    axes' backend flags the request before authentication when the account is locked; its
    failure handler counts the failure (and fills ``axes_failures_since_start``) only when
    the account was not locked yet, which is how the two cases differ.
    """
    return bool(
        getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )


def failures_counted(request: HttpRequest | None) -> int | None:
    """Return how many failures axes counted for this request's account, if it counted any."""
    value = getattr(request, "axes_failures_since_start", None)
    return int(value) if value is not None else None


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: dict[str, Any] | None
) -> HttpResponse:
    """Answer a login refused by the lock: 429 with a message saying when it lifts by itself."""
    cool_off = get_cool_off(request)
    minutes = int(cool_off.total_seconds() // 60) if cool_off else 0
    context = {"failure_limit": get_failure_limit(request, credentials), "lock_minutes": minutes}
    if request.headers.get("x-requested-with") == "XMLHttpRequest" or request.path.startswith(
        "/api/"
    ):
        message = (
            f"Too many failed logins: this account is locked for {minutes} minutes. "
            "The lock lifts by itself."
        )
        return JsonResponse({"detail": message, **context}, status=LOCKED_OUT_STATUS)
    return render(request, "accounts/locked_out.html", context, status=LOCKED_OUT_STATUS)


def lift_lock(email: str) -> int:
    """Forget the failed logins counted against ``email``; return how many records went."""
    return AxesProxyHandler.reset_attempts(username=email.strip().lower())

"""Audit receivers for account events raised by Django, allauth and django-axes."""

from typing import Any

from allauth.account import signals as account_signals
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver

from afspraak.accounts.lockout import username_from_attempt
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record


@receiver(account_signals.user_signed_up)
def audit_signed_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.user.signed_up", actor=user, target=user, request=request)


@receiver(auth_signals.user_logged_in)
def audit_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.login.succeeded", actor=user, target=user, request=request)


@receiver(auth_signals.user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # The address tried may be anyone's (personal data): keep the account's public id only.
    email = username_from_attempt(request, credentials)
    user = get_user_model().objects.filter(email=email).first() if email else None
    record(
        "accounts.login.failed",
        actor=None,
        outcome=Outcome.FAILURE,
        target=user,
        request=request,
        data={"known_account": user is not None},
    )


@receiver(user_locked_out)
def audit_locked_out(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    user = get_user_model().objects.filter(email=(username or "").lower()).first()
    record(
        "accounts.login.locked_out",
        actor=None,
        outcome=Outcome.DENIED,
        target=user,
        request=request,
        data={"known_account": user is not None},
    )


@receiver(auth_signals.user_logged_out)
def audit_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("accounts.logout", actor=user, target=user, request=request)


@receiver(account_signals.password_changed)
def audit_password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.password.changed", actor=user, target=user, request=request)


@receiver(account_signals.password_set)
def audit_password_set(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.password.set", actor=user, target=user, request=request)


@receiver(account_signals.password_reset)
def audit_password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.password.reset", actor=user, target=user, request=request)


@receiver(account_signals.email_confirmed)
def audit_email_confirmed(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    user = email_address.user
    record("accounts.email.confirmed", actor=user, target=user, request=request)


def _mfa_data(authenticator: Authenticator) -> dict[str, str]:
    return {"authenticator_type": authenticator.type, "authenticator_id": str(authenticator.pk)}


@receiver(mfa_signals.authenticator_added)
def audit_mfa_added(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    record(
        "accounts.mfa.added",
        actor=user,
        target=user,
        request=request,
        data=_mfa_data(authenticator),
    )


@receiver(mfa_signals.authenticator_removed)
def audit_mfa_removed(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    record(
        "accounts.mfa.removed",
        actor=user,
        target=user,
        request=request,
        data=_mfa_data(authenticator),
    )


@receiver(mfa_signals.authenticator_reset)
def audit_mfa_reset(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    record(
        "accounts.mfa.recovery_codes_regenerated",
        actor=user,
        target=user,
        request=request,
        data=_mfa_data(authenticator),
    )


@receiver(mfa_signals.authenticator_used)
def audit_mfa_used(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    action = (
        "accounts.mfa.recovery_code_used"
        if authenticator.type == Authenticator.Type.RECOVERY_CODES
        else "accounts.mfa.used"
    )
    record(action, actor=user, target=user, request=request, data=_mfa_data(authenticator))


@receiver(mfa_signals.authentication_failed)
def audit_mfa_failed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.mfa.failed", actor=None, outcome=Outcome.FAILURE, target=user, request=request)

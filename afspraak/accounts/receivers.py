"""Audit receivers for account events raised by Django, allauth and django-axes.

Each event is recorded once, with ids and codes only: never the e-mail address a
login tried (a failed login keeps its keyed hash, ``login_identity``), never a password,
code or secret.
"""

from typing import Any

from allauth.account import signals as account_signals
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth import signals as auth_signals
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from afspraak.accounts.lockout import (
    failures_counted,
    lift_lock,
    username_from_attempt,
    was_refused_by_lock,
)
from afspraak.accounts.login_identity import login_identity
from afspraak.accounts.middleware import SESSION_EXPIRED_ATTRIBUTE, start_session_clock
from afspraak.audit.context import context_of
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record


def _account_tried(email: str) -> Any:
    return get_user_model().objects.filter(email=email).first() if email else None


@receiver(account_signals.user_signed_up)
def audit_signed_up(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.user.signed_up", actor=user, target=user, context=context_of(request))


@receiver(auth_signals.user_logged_in)
def stamp_new_session(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None:
        start_session_clock(request, user)


@receiver(auth_signals.user_logged_in)
def audit_logged_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is None:
        return
    steps = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    methods = sorted({str(step.get("method")) for step in steps if isinstance(step, dict)})
    record(
        "accounts.login.succeeded",
        actor=user,
        target=user,
        context=context_of(request),
        data={"methods": methods},
    )


@receiver(auth_signals.user_login_failed)
def audit_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # The address tried may be anyone's (personal data): keep the account's public id and
    # the address's keyed hash, which tells the detection rules one identity from many.
    email = username_from_attempt(request, credentials)
    user = _account_tried(email)
    refused = was_refused_by_lock(request)
    record(
        "accounts.login.failed",
        actor=None,
        outcome=Outcome.DENIED if refused else Outcome.FAILURE,
        target=user,
        context=context_of(request),
        data={
            "known_account": user is not None,
            "reason": "locked_out" if refused else "invalid_credentials",
            "identity": login_identity(email),
        },
    )


@receiver(user_locked_out)
def audit_locked_out(sender: Any, request: Any, username: str | None = None, **kwargs: Any) -> None:
    # axes sends this both when a failure locks the account and for every attempt
    # refused while it is locked; only the first is the lockout event, the refusals are
    # recorded as failed logins.
    if was_refused_by_lock(request):
        return
    user = get_user_model().objects.filter(email=(username or "").lower()).first()
    record(
        "accounts.login.locked_out",
        actor=None,
        outcome=Outcome.DENIED,
        target=user,
        context=context_of(request),
        data={"known_account": user is not None, "failures": failures_counted(request)},
    )


@receiver(auth_signals.user_logged_out)
def audit_logged_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is None or getattr(request, SESSION_EXPIRED_ATTRIBUTE, False):
        return
    record("accounts.logout", actor=user, target=user, context=context_of(request))


@receiver(account_signals.authentication_step_completed)
def audit_reauthenticated(sender: Any, request: Any, user: Any, method: str, **kwargs: Any) -> None:
    if not kwargs.get("reauthenticated"):
        return
    data = {"method": method}
    if kwargs.get("type"):
        data["authenticator_type"] = str(kwargs["type"])
    record(
        "accounts.reauthenticated", actor=user, target=user, context=context_of(request), data=data
    )


@receiver(account_signals.password_changed)
def audit_password_changed(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.password.changed", actor=user, target=user, context=context_of(request))


@receiver(account_signals.password_set)
def audit_password_set(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("accounts.password.set", actor=user, target=user, context=context_of(request))


@receiver(account_signals.password_reset)
def audit_password_reset(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    # Resetting by e-mail proves control of the mailbox, so it also lifts a lockout.
    lifted = lift_lock(user.email) > 0
    record(
        "accounts.password.reset",
        actor=user,
        target=user,
        context=context_of(request),
        data={"lock_lifted": lifted},
    )


@receiver(account_signals.email_confirmed)
def audit_email_confirmed(sender: Any, request: Any, email_address: Any, **kwargs: Any) -> None:
    user = email_address.user
    record("accounts.email.confirmed", actor=user, target=user, context=context_of(request))


# Django clears an instance's primary key when it deletes it, before allauth reports the
# removal; the id is kept here so the audit event can still name the authenticator.
_DELETED_ID_ATTRIBUTE = "afspraak_deleted_id"


@receiver(pre_delete, sender=Authenticator)
def remember_authenticator_id(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    setattr(instance, _DELETED_ID_ATTRIBUTE, instance.pk)


def _mfa_data(authenticator: Authenticator) -> dict[str, str]:
    authenticator_id = authenticator.pk or getattr(authenticator, _DELETED_ID_ATTRIBUTE, None)
    return {"authenticator_type": authenticator.type, "authenticator_id": str(authenticator_id)}


@receiver(mfa_signals.authenticator_added)
def audit_mfa_added(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    record(
        "accounts.mfa.added",
        actor=user,
        target=user,
        context=context_of(request),
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
        context=context_of(request),
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
        context=context_of(request),
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
    data = {**_mfa_data(authenticator), "reauthentication": bool(kwargs.get("reauthenticated"))}
    record(action, actor=user, target=user, context=context_of(request), data=data)


@receiver(mfa_signals.authentication_failed)
def audit_mfa_failed(
    sender: Any, request: Any, user: Any, authenticator: Authenticator, **kwargs: Any
) -> None:
    reauthentication = bool(kwargs.get("reauthentication"))
    record(
        "accounts.mfa.failed",
        actor=user if reauthentication else None,
        outcome=Outcome.FAILURE,
        target=user,
        context=context_of(request),
        data={**_mfa_data(authenticator), "reauthentication": reauthentication},
    )

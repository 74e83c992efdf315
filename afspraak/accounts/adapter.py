"""allauth adapters: where Afspraak plugs its own rules into login, MFA and the sessions page."""

from collections.abc import Iterable
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from afspraak.accounts.mfa_secrets import UnsealedSecret, open_secret
from afspraak.accounts.middleware import SECOND_FACTOR_TYPES, must_have_mfa
from afspraak.audit.context import context_of
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record


class AccountAdapter(DefaultAccountAdapter):
    """Account rules: lower-cased e-mail logins; audited throttling of failed logins."""

    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        # The sign-up form asks the name others will see (SignupForm.full_name).
        user.full_name = form.cleaned_data.get("full_name", "")
        return super().save_user(request, user, form, commit=commit)

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        # allauth refuses here, before any password is checked, once this address has
        # failed too often ("login_failed" rate): the refusal never reaches the backends,
        # so no login-failed signal reports it.
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError:
            record(
                "accounts.login.throttled",
                actor=None,
                outcome=Outcome.DENIED,
                context=context_of(request),
                data={"rate": "login_failed"},
            )
            raise


class MFAAdapter(DefaultMFAAdapter):
    """Keeps MFA secrets only as AES-256-GCM ciphertext under the master keyset, sealed to
    their user (``mfa_secrets``), and keeps the last second factor of everyone who must
    have MFA."""

    def encrypt(self, text: str) -> str:
        # Sealed when its authenticator is saved: only then is its user known.
        return UnsealedSecret(text)

    def decrypt(self, encrypted_text: str) -> str:
        return open_secret(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type not in SECOND_FACTOR_TYPES:
            return True
        others = (
            Authenticator.objects.filter(
                user_id=authenticator.user_id, type__in=SECOND_FACTOR_TYPES
            )
            .exclude(pk=authenticator.pk)
            .exists()
        )
        return others or not must_have_mfa(authenticator.user)


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    """Audits every session a user ends from the sessions page."""

    def end_sessions(self, sessions: Iterable[Any]) -> None:
        request = context.request
        for session in sessions:
            session_id = str(session.pk)
            was_current = request is not None and session.is_current()
            session.end()
            record(
                "accounts.session.ended",
                actor=request.user if request is not None else None,
                target=session.user,
                context=context_of(request),
                data={"user_session_id": session_id, "current": was_current},
            )

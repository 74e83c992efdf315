"""allauth adapters: where Afspraak plugs its own rules into login, MFA and the sessions page."""

from collections.abc import Iterable
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.http import HttpRequest

from afspraak.accounts.html_email import attach_html_part
from afspraak.accounts.mfa_secrets import UnsealedSecret, open_secret
from afspraak.accounts.middleware import SECOND_FACTOR_TYPES, must_have_mfa
from afspraak.audit.context import context_of
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record


class AccountAdapter(DefaultAccountAdapter):
    """Account rules: lower-cased e-mail logins; audited throttling of failed logins; e-mails
    with an HTML part in the site's design."""

    def clean_email(self, email: str) -> str:
        return super().clean_email(email).strip().lower()

    def save_user(self, request: HttpRequest, user: Any, form: Any, commit: bool = True) -> Any:
        # The sign-up form asks the name others will see (SignupForm.full_name).
        user.full_name = form.cleaned_data.get("full_name", "")
        return super().save_user(request, user, form, commit=commit)

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        # The site's own address, for the footer: allauth's "current site" is whatever
        # host the request named (the greeting once read "Hello from localhost:9443!").
        context = {**context, "site_url": settings.SITE_URL}
        message = super().render_mail(template_prefix, email, context, headers)
        if isinstance(message, EmailMultiAlternatives) and not message.alternatives:
            action_url, action_label = _main_link(context)
            attach_html_part(
                message,
                title=str(message.subject).removeprefix(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX),
                action_url=action_url,
                action_label=action_label,
            )
        return message

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


# The links allauth's e-mails carry, by context key, and their HTML part's button.
MAIN_LINKS = (
    ("activate_url", "Confirm your e-mail address"),
    ("password_reset_url", "Reset your password"),
    ("signup_url", "Sign up"),
)


def _main_link(context: dict[str, Any]) -> tuple[str, str]:
    """Return the address and label of the button an account e-mail's HTML part shows."""
    for key, label in MAIN_LINKS:
        if context.get(key):
            return str(context[key]), label
    return "", ""


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

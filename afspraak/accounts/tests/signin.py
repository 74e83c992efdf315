"""Test steps shared by the login, MFA and session tests: log in, enrol TOTP, compute codes."""

import time

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse

from afspraak.testing.factories import DEFAULT_PASSWORD

TOTP_PERIOD = 30


def totp_code(secret: str, *, step: int = 0) -> str:
    """Return the TOTP code an authenticator app shows now (``step`` periods later)."""
    counter = int(time.time()) // TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


def submit_password(client: Client, email: str, password: str = DEFAULT_PASSWORD):
    """Post the login form and return the response."""
    return client.post(reverse("account_login"), {"login": email, "password": password})


def reauthenticate(client: Client, password: str = DEFAULT_PASSWORD):
    """Confirm the password on allauth's re-authentication page."""
    return client.post(reverse("account_reauthenticate"), {"password": password})


def enrol_totp(client: Client, password: str = DEFAULT_PASSWORD) -> str:
    """Enrol TOTP through the real pages for the logged-in user; return the secret."""
    response = client.get(reverse("mfa_activate_totp"))
    if response.status_code == 302 and reverse("account_reauthenticate") in response["Location"]:
        assert reauthenticate(client, password).status_code == 302
        response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    secret = response.context["form"].secret
    # The secret is shown to the user as text for manual entry, next to the QR code.
    assert secret in response.content.decode()
    response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    assert response.status_code == 302, response.content
    return secret


def recovery_codes_of(user) -> list[str]:
    """Return the user's unused recovery codes."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES)
    return RecoveryCodes(authenticator).get_unused_codes()

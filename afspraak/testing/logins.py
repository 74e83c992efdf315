"""Logging a test client in as a person would, with the steps their login went through."""

from typing import Any

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.test import Client


def log_in_with_second_factor(client: Client, user: Any) -> None:
    """Log ``client`` in as ``user`` as if they gave their password and then their TOTP code."""
    client.force_login(user)
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "email": user.email},
        {"method": "mfa", "type": "totp"},
    ]
    session.save()

"""Logging a test client in as a person would, with the steps their login went through."""

import time
from typing import Any

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.internal.userkit import user_id_to_str
from django.test import Client
from django.urls import reverse

from afspraak.testing.factories import DEFAULT_PASSWORD

# Whose steps the session's list is: allauth reads none of them (a re-authentication
# starts the list afresh) unless it names the signed-in user, as its own login does.
_STEPS_USER_SESSION_KEY = "account_authentication_methods_user"


def log_in_with_second_factor(
    client: Client, user: Any, *, reauthenticated: bool = False, password: str = DEFAULT_PASSWORD
) -> None:
    """Log ``client`` in as ``user`` as if they gave their password and then their TOTP code.

    With ``reauthenticated``, they also just confirmed their password again on allauth's
    page, as before a sensitive change.
    """
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "email": user.email, "at": now},
        {"method": "mfa", "type": "totp", "at": now},
    ]
    session[_STEPS_USER_SESSION_KEY] = user_id_to_str(user)
    session.save()
    if reauthenticated:
        response = client.post(reverse("account_reauthenticate"), {"password": password})
        if response.status_code != 302:
            raise AssertionError(f"re-authentication refused: {response.content[:300]!r}")

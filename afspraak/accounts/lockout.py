"""How django-axes recognises the account a failed login was aimed at."""

from typing import Any

from django.http import HttpRequest


def username_from_attempt(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """Return the normalised e-mail address an attempt used, from the credentials or the form."""
    for source in (credentials or {}, getattr(request, "POST", {}) or {}):
        for field in ("email", "login", "username"):
            value = source.get(field)
            if value:
                return str(value).strip().lower()
    return ""

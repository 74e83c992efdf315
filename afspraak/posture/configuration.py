"""Checks of the running configuration: Django's deploy checks, DEBUG, secrets, production rules."""

from typing import Any

from django.conf import settings
from django.core import checks

from afspraak.environment import unsafe_production_settings
from afspraak.posture.results import Result, Target, failed, passed

MIN_SECRET_KEY_LENGTH = 50
# Warnings the embedded (development) mode raises on purpose, each with its reason.
EXPECTED_IN_DEVELOPMENT = {
    "security.W021": "HSTS preload is asked for in production only: localhost cannot be preloaded",
}
MIN_SECRET_KEY_CHARACTERS = 5


def check_deploy_checks(target: Target) -> Result:
    """Fail when ``afspraak check --deploy`` reports a warning or an error."""
    messages = [
        message
        for message in checks.run_checks(include_deployment_checks=True)
        if message.level >= checks.WARNING
        and not message.is_silenced()
        and (target.production or message.id not in EXPECTED_IN_DEVELOPMENT)
    ]
    if messages:
        return failed(
            "`afspraak check --deploy` reports: "
            + "; ".join(f"{message.id}: {message.msg}" for message in messages)
        )
    return passed("`afspraak check --deploy` reports no warning")


def check_debug_off(target: Target) -> Result:
    """Fail when DEBUG is on (tracebacks and settings shown to anyone)."""
    if settings.DEBUG:
        return failed("DEBUG is on: unset AFSPRAAK_DEBUG")
    return passed("DEBUG is off")


def secret_key_problem(key: str | bytes) -> str:
    """Return why ``key`` is too weak to sign sessions and links, or '' when it is strong."""
    if isinstance(key, bytes):
        key = key.decode("utf-8", errors="replace")
    if key.startswith("django-insecure-"):
        return "it is Django's generated development key"
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return f"it has {len(key)} characters, fewer than {MIN_SECRET_KEY_LENGTH}"
    if len(set(key)) < MIN_SECRET_KEY_CHARACTERS:
        return f"it uses fewer than {MIN_SECRET_KEY_CHARACTERS} different characters"
    return ""


def check_secret_key(target: Target) -> Result:
    """Fail when the secret key (or a fallback still accepted) is short, repetitive or Django's."""
    keys = [("AFSPRAAK_SECRET_KEY", settings.SECRET_KEY)] + [
        (f"fallback key {n}", key) for n, key in enumerate(settings.SECRET_KEY_FALLBACKS, 1)
    ]
    problems = [f"{name}: {problem}" for name, key in keys if (problem := secret_key_problem(key))]
    if problems:
        return failed(
            "; ".join(problems) + ": generate one with `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'`"
        )
    return passed(f"the secret key has {len(settings.SECRET_KEY)} characters of random text")


def default_database() -> dict[str, Any]:
    """Return the settings of the database requests use."""
    return dict(settings.DATABASES["default"])


def check_production_settings(target: Target) -> Result:
    """Fail on what production refuses at start: weak database TLS, http site, '*' hosts, proxy."""
    database = default_database()
    problems = unsafe_production_settings(
        db_engine="postgresql" if str(database["ENGINE"]).endswith("postgresql") else "sqlite",
        db_sslmode=str(database.get("OPTIONS", {}).get("sslmode", "")),
        site_url=settings.SITE_URL,
        allowed_hosts=list(settings.ALLOWED_HOSTS),
        trusts_forwarded_proto=settings.SECURE_PROXY_SSL_HEADER is not None,
        proxy_count=settings.ALLAUTH_TRUSTED_PROXY_COUNT,
    )
    if problems:
        return failed("; ".join(problems))
    return passed(
        "database TLS (when PostgreSQL) verify-full, https site URL, named hosts, "
        "forwarded scheme trusted only behind a proxy"
    )

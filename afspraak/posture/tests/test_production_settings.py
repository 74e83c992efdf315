"""Production refuses at start, and the audit reports, what ``check --deploy`` lets through."""

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from afspraak.posture.configuration import check_production_settings
from afspraak.posture.results import Status
from afspraak.server.tests.serving import serve_environment

UNSAFE = [
    pytest.param(
        {"AFSPRAAK_DB_ENGINE": "postgresql", "AFSPRAAK_DB_SSLMODE": "disable"},
        "AFSPRAAK_DB_SSLMODE must be verify-full in production, not 'disable'",
        id="database TLS off",
    ),
    pytest.param(
        {"AFSPRAAK_DB_ENGINE": "postgresql", "AFSPRAAK_DB_SSLMODE": "require"},
        "AFSPRAAK_DB_SSLMODE must be verify-full in production, not 'require'",
        id="database TLS unverified",
    ),
    pytest.param(
        {"AFSPRAAK_SITE_URL": "http://book.example.test"},
        "AFSPRAAK_SITE_URL must be an https:// URL in production, not 'http://book.example.test'",
        id="http site",
    ),
    pytest.param(
        {"AFSPRAAK_ALLOWED_HOSTS": "*"},
        "AFSPRAAK_ALLOWED_HOSTS must name the site's hosts in production, without '*'",
        id="any host",
    ),
    pytest.param(
        {"AFSPRAAK_ALLOWED_HOSTS": "book.example.test,*.example.test"},
        "AFSPRAAK_ALLOWED_HOSTS must name the site's hosts in production, without '*'",
        id="wildcard host",
    ),
    pytest.param(
        {"AFSPRAAK_TRUST_X_FORWARDED_PROTO": "true", "AFSPRAAK_PROXY_COUNT": "0"},
        "AFSPRAAK_TRUST_X_FORWARDED_PROTO=true needs AFSPRAAK_PROXY_COUNT of at least 1",
        id="forwarded scheme without a proxy",
    ),
]


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter under a production environment."""
    environment = serve_environment(
        tmp_path,
        https_port=443,
        AFSPRAAK_ENV="production",
        AFSPRAAK_SECRET_KEY=secrets.token_urlsafe(64),
        AFSPRAAK_SITE_URL="https://book.example.test",
        AFSPRAAK_ALLOWED_HOSTS="book.example.test",
    )
    return subprocess.run(
        [sys.executable, "-c", "import afspraak.settings"],
        env=environment | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(("env", "message"), UNSAFE)
def test_production_refuses_to_start(tmp_path, env, message):
    result = load_settings(tmp_path, **env)

    assert result.returncode == 1
    assert "django.core.exceptions.ImproperlyConfigured" in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({}, id="SQLite, https site, named host"),
        pytest.param(
            {"AFSPRAAK_DB_ENGINE": "postgresql", "AFSPRAAK_DB_SSLMODE": "verify-full"},
            id="PostgreSQL verify-full",
        ),
        pytest.param(
            {"AFSPRAAK_TRUST_X_FORWARDED_PROTO": "true", "AFSPRAAK_PROXY_COUNT": "1"},
            id="forwarded scheme behind one proxy",
        ),
    ],
)
def test_production_starts_with_safe_settings(tmp_path, env):
    result = load_settings(tmp_path, **env)

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"SITE_URL": "http://book.example.test"}, "AFSPRAAK_SITE_URL", id="http"),
        pytest.param({"ALLOWED_HOSTS": ["*"]}, "AFSPRAAK_ALLOWED_HOSTS", id="any host"),
        pytest.param(
            {
                "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
                "ALLAUTH_TRUSTED_PROXY_COUNT": 0,
            },
            "AFSPRAAK_PROXY_COUNT",
            id="forwarded scheme without a proxy",
        ),
    ],
)
def test_the_audit_check_fails_on_each_setting_production_refuses(
    settings, posture_target, overrides, message
):
    for name, value in overrides.items():
        setattr(settings, name, value)

    result = check_production_settings(posture_target)

    assert result.status is Status.FAIL
    assert message in result.detail


def test_the_audit_check_fails_on_unverified_database_tls(monkeypatch, posture_target):
    postgresql = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"sslmode": "prefer"}}
    monkeypatch.setattr("afspraak.posture.configuration.default_database", lambda: postgresql)

    result = check_production_settings(posture_target)

    assert result.status is Status.FAIL
    assert "AFSPRAAK_DB_SSLMODE must be verify-full in production, not 'prefer'" in result.detail


def test_the_audit_check_passes_on_the_safe_settings(settings, monkeypatch, posture_target):
    postgresql = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"sslmode": "verify-full"}}
    monkeypatch.setattr("afspraak.posture.configuration.default_database", lambda: postgresql)
    settings.SITE_URL = "https://book.example.test"
    settings.ALLOWED_HOSTS = ["book.example.test"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    result = check_production_settings(posture_target)

    assert result.status is Status.PASS, result.detail

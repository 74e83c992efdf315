"""Every response carries the security headers; cookies are Secure, HttpOnly and SameSite (D1)."""

import re
import runpy
import secrets
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

import afspraak.settings
from afspraak.server.tests.serving import run_afspraak, serve_environment
from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

PAGES = [
    pytest.param("/", 200, id="home"),
    pytest.param("/accounts/login/", 200, id="login form"),
    pytest.param("/accounts/email/", 302, id="redirect to login"),
    pytest.param("/no-such-page/", 404, id="not found"),
]


def csp_directives(header: str) -> dict[str, list[str]]:
    """Split a Content-Security-Policy header into its directives and their sources."""
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "status"), PAGES)
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path)

    assert response.status_code == status
    hsts = response.headers["Strict-Transport-Security"]
    max_age = re.fullmatch(r"max-age=(\d+); includeSubDomains(; preload)?", hsts)
    assert max_age is not None, hsts
    assert int(max_age.group(1)) >= 31536000
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert "'unsafe-inline'" not in csp["script-src"]
    assert "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    permissions = response.headers["Permissions-Policy"]
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert f"{feature}=()" in permissions


def assert_locked_down(cookie) -> None:
    """Check a cookie is Secure, HttpOnly, SameSite and bound to this host and path."""
    assert cookie["secure"] is True
    assert cookie["httponly"] is True
    assert cookie["samesite"] in ("Lax", "Strict")
    # The __Host- prefix makes browsers refuse the cookie unless it is host-only on "/".
    assert cookie.key.startswith("__Host-")
    assert cookie["domain"] == ""
    assert cookie["path"] == "/"


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_httponly_and_samesite(client):
    user = UserFactory()

    # Logging in starts the session and rotates the CSRF token: both cookies are set.
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert_locked_down(response.cookies["__Host-afspraak_session"])
    assert_locked_down(response.cookies["__Host-afspraak_csrf"])


def settings_under(monkeypatch, tmp_path: Path, **env: str) -> dict:
    """Evaluate the settings module afresh under the given environment variables."""
    monkeypatch.setenv("AFSPRAAK_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("AFSPRAAK_SECRET_KEY", secrets.token_urlsafe(50))
    monkeypatch.delenv("AFSPRAAK_TRUST_X_FORWARDED_PROTO", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(afspraak.settings.__file__)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("trust", "forwarded_proto", "status"),
    [
        pytest.param(None, "https", 301, id="not trusted by default"),
        pytest.param("false", "https", 301, id="not trusted when off"),
        pytest.param("true", "https", 200, id="trusted when on"),
        pytest.param("true", "http", 301, id="trusted http still redirects"),
    ],
)
def test_x_forwarded_proto_counts_only_when_trust_is_configured(
    settings, monkeypatch, tmp_path, trust, forwarded_proto, status
):
    env = {} if trust is None else {"AFSPRAAK_TRUST_X_FORWARDED_PROTO": trust}
    settings.SECURE_PROXY_SSL_HEADER = settings_under(monkeypatch, tmp_path, **env).get(
        "SECURE_PROXY_SSL_HEADER"
    )

    # A plain-HTTP request, as a proxy that terminates TLS would send it.
    response = Client().get("/", HTTP_X_FORWARDED_PROTO=forwarded_proto)

    assert response.status_code == status
    if status == 301:
        assert response.headers["Location"] == "https://testserver/"


def test_the_production_deploy_check_reports_nothing(tmp_path: Path):
    env = serve_environment(
        tmp_path,
        https_port=443,
        AFSPRAAK_ENV="production",
        AFSPRAAK_SECRET_KEY=secrets.token_urlsafe(64),
        AFSPRAAK_SITE_URL="https://book.example.test",
        AFSPRAAK_ALLOWED_HOSTS="book.example.test",
    )

    result = run_afspraak(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("System check identified no issues")
    assert result.stderr == ""

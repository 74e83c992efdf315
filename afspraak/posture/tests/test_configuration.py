"""Django's deploy checks, DEBUG and the secret key."""

import secrets

import pytest

from afspraak.posture.configuration import (
    check_debug_off,
    check_deploy_checks,
    check_secret_key,
)
from afspraak.posture.results import Status


def test_the_deploy_checks_pass_on_the_shipped_settings(posture_target):
    result = check_deploy_checks(posture_target)

    assert result.status is Status.PASS, result.detail


def test_an_insecure_session_cookie_fails_the_deploy_checks(settings, posture_target):
    settings.SESSION_COOKIE_SECURE = False

    result = check_deploy_checks(posture_target)

    assert result.status is Status.FAIL
    # Django names the sessions app (W010) rather than its middleware (W012), which it
    # looks for by its exact path and so does not see in afspraak.server.sessions' subclass.
    assert "security.W010" in result.detail


def test_no_hsts_preload_is_expected_in_development_only(
    settings, posture_target, production_target
):
    settings.SECURE_HSTS_PRELOAD = False

    assert check_deploy_checks(posture_target).status is Status.PASS
    result = check_deploy_checks(production_target)
    assert result.status is Status.FAIL
    assert "security.W021" in result.detail


def test_debug_on_fails(settings, posture_target):
    assert check_debug_off(posture_target).status is Status.PASS

    settings.DEBUG = True

    assert check_debug_off(posture_target).status is Status.FAIL


def test_a_long_random_secret_key_passes(settings, posture_target):
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    settings.SECRET_KEY_FALLBACKS = [secrets.token_urlsafe(50)]

    result = check_secret_key(posture_target)

    assert result.status is Status.PASS, result.detail


@pytest.mark.parametrize(
    ("key", "fallbacks", "message"),
    [
        pytest.param("short-but-random-Xq3", [], "has 20 characters, fewer than 50", id="short"),
        pytest.param("ab" * 40, [], "fewer than 5 different characters", id="repetitive"),
        pytest.param(
            "django-insecure-" + secrets.token_urlsafe(50), [], "Django's generated", id="django's"
        ),
        pytest.param(
            secrets.token_urlsafe(50), ["old-key"], "fallback key 1: it has 7", id="weak fallback"
        ),
    ],
)
def test_a_weak_secret_key_fails(settings, posture_target, key, fallbacks, message):
    settings.SECRET_KEY = key
    settings.SECRET_KEY_FALLBACKS = fallbacks

    result = check_secret_key(posture_target)

    assert result.status is Status.FAIL
    assert message in result.detail

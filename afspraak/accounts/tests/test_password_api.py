"""The password endpoints of API v1: change one's password, check a candidate."""

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.urls import reverse

from afspraak.accounts.models import PasswordHistoryEntry
from afspraak.audit.models import AuditEvent
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"
CHANGE_URL = "/api/v1/account/password"
CHECK_URL = "/api/v1/account/password/check"
NEW_PASSWORD = "copper kites hum above frozen orchards"


@pytest.fixture
def user():
    return UserFactory.create()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user, backend=ALLAUTH_BACKEND)
    return client


def post_json(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


def test_urls_are_versioned_and_namespaced():
    assert reverse("api:account_password_change") == CHANGE_URL
    assert reverse("api:account_password_check") == CHECK_URL


# --- Change -----------------------------------------------------------------------------------


def test_change_sets_the_new_password_records_history_and_audits(signed_in, user):
    response = post_json(
        signed_in, CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert response.json() == {"detail": "Your password has been changed."}
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    newest = PasswordHistoryEntry.objects.filter(user=user).first()
    assert newest is not None
    assert check_password(NEW_PASSWORD, newest.password_hash)
    event = AuditEvent.objects.get(action="accounts.password.changed")
    assert event.actor == user
    assert event.outcome == "success"


def test_change_keeps_the_session_signed_in(signed_in, user):
    post_json(
        signed_in, CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    )

    # Django ends sessions whose auth hash no longer matches the password; this one was updated.
    assert signed_in.get(reverse("home")).context["user"] == user


def test_change_with_wrong_current_password_is_refused_and_audited(signed_in, user):
    response = post_json(
        signed_in,
        CHANGE_URL,
        {"current_password": "not my password at all", "new_password": NEW_PASSWORD},
    )

    assert response.status_code == 400
    assert response.json() == {"current_password": ["The current password is not correct."]}
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    event = AuditEvent.objects.get(action="accounts.password.change_failed")
    assert event.outcome == "failure"
    assert event.target_id == user.public_id
    assert "not my password" not in str(event.data)
    assert not AuditEvent.objects.filter(action="accounts.password.changed").exists()


def test_change_names_every_rule_the_new_password_breaks(signed_in, user):
    response = post_json(
        signed_in, CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": "afspraak"}
    )

    assert response.status_code == 400
    reasons = response.json()["new_password"]
    assert any("too short" in r for r in reasons)
    assert any("built on “afspraak”" in r for r in reasons)
    assert any("too easy to guess" in r for r in reasons)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_change_refuses_a_recent_password(signed_in, user):
    response = post_json(
        signed_in,
        CHANGE_URL,
        {"current_password": DEFAULT_PASSWORD, "new_password": DEFAULT_PASSWORD},
    )

    assert response.status_code == 400
    assert response.json() == {
        "new_password": ["This password is one of your last 5; choose one you have not used."]
    }


def test_change_refuses_a_password_built_on_the_users_organization(client):
    member = MembershipFactory.create(
        organization=OrganizationFactory.create(name="Zonnebloem Tandartsen")
    ).user
    client.force_login(member, backend=ALLAUTH_BACKEND)

    response = post_json(
        client,
        CHANGE_URL,
        {"current_password": DEFAULT_PASSWORD, "new_password": "Zonnebloem!2024#x"},
    )

    assert response.status_code == 400
    assert any("built on “Zonnebloem”" in r for r in response.json()["new_password"])


def test_change_is_throttled_per_user(signed_in):
    body = {"current_password": "wrong guess number one", "new_password": NEW_PASSWORD}
    statuses = [post_json(signed_in, CHANGE_URL, body).status_code for _ in range(21)]

    assert statuses[:20] == [400] * 20
    assert statuses[20] == 429


# --- Check ------------------------------------------------------------------------------------


def test_check_accepts_a_strong_passphrase(signed_in):
    response = post_json(signed_in, CHECK_URL, {"password": NEW_PASSWORD})

    assert response.status_code == 200
    assert response.json() == {"acceptable": True, "reasons": []}


def test_check_gives_the_reasons_for_a_weak_password(signed_in):
    response = post_json(signed_in, CHECK_URL, {"password": "afspraak2024"})

    body = response.json()
    assert response.status_code == 200
    assert body["acceptable"] is False
    assert any("too short" in r for r in body["reasons"])
    assert any("built on “afspraak”" in r for r in body["reasons"])


def test_check_judges_similarity_to_the_signed_in_user(client):
    user = UserFactory.create(email="marjolein.vandenberg@example.test")
    client.force_login(user, backend=ALLAUTH_BACKEND)

    response = post_json(client, CHECK_URL, {"password": "marjolein.vandenberg1"})

    assert response.json()["acceptable"] is False
    assert "The password is too similar to the email." in response.json()["reasons"]


def test_check_leaves_reuse_to_the_change_itself(signed_in):
    # Reuse costs one slow hash per remembered password; the change endpoint refuses it.
    response = post_json(signed_in, CHECK_URL, {"password": DEFAULT_PASSWORD})

    assert response.json() == {"acceptable": True, "reasons": []}


def test_check_changes_nothing(signed_in, user):
    post_json(signed_in, CHECK_URL, {"password": NEW_PASSWORD})

    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert user.password_history.count() == 1


# --- Authentication and CSRF ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (CHANGE_URL, {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}),
        (CHECK_URL, {"password": NEW_PASSWORD}),
    ],
)
def test_anonymous_caller_gets_403_json(client, url, body):
    response = post_json(client, url, body)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("with_token", [True, False], ids=["with-csrf", "without-csrf"])
def test_change_needs_the_csrf_token(signed_in, user, with_token):
    signed_in.handler.enforce_csrf_checks = True
    signed_in.get(reverse("home"))  # renders a form, which sets the CSRF cookie
    headers = {"Origin": "https://testserver"}
    if with_token:
        headers["X-CSRFToken"] = signed_in.cookies[settings.CSRF_COOKIE_NAME].value

    response = post_json(
        signed_in,
        CHANGE_URL,
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )

    user.refresh_from_db()
    if with_token:
        assert response.status_code == 200
        assert user.check_password(NEW_PASSWORD)
    else:
        assert response.status_code == 403
        assert "CSRF Failed" in response.json()["detail"]
        assert user.check_password(DEFAULT_PASSWORD)

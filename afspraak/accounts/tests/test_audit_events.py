"""Every account action is audited exactly once, with the right outcome, and with ids and
codes only: never an e-mail address, a password, a code or a secret."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse

from afspraak.accounts.login_identity import LOGIN_IDENTITY_BYTES, login_identity
from afspraak.accounts.tests.signin import (
    enrol_totp,
    reauthenticate,
    recovery_codes_of,
    submit_password,
    totp_code,
)
from afspraak.audit.models import AuditEvent
from afspraak.testing.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

ENROLLED_AT = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
LATER = ENROLLED_AT + timedelta(minutes=3)
NEW_PASSWORD = "seven orange gliders hum beneath the quay"
WRONG_PASSWORD = "not the password at all, sorry"


def the_one_event(action, *, outcome="success", secrets=(), after=0):
    """Return the only event recorded for ``action`` (after event ``after``), checking its
    outcome and that its data holds no e-mail address or secret."""
    events = list(AuditEvent.objects.filter(action=action, pk__gt=after))
    assert len(events) == 1, [e.action for e in AuditEvent.objects.filter(pk__gt=after)]
    [event] = events
    assert event.outcome == outcome
    stored = json.dumps([event.data, event.target_id, event.actor_public_id])
    assert "@" not in stored, "audit data must not hold e-mail addresses"
    for secret in (DEFAULT_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, *secrets):
        assert secret not in stored
    return event


@pytest.fixture
def enrolled(client):
    """A user who enrolled TOTP through the real pages and logged out, and the id of the
    last event the enrolment recorded."""
    user = UserFactory.create()
    with time_machine.travel(ENROLLED_AT, tick=False):
        client.force_login(user)
        secret = enrol_totp(client)
        client.post(reverse("account_logout"))
    return user, secret, AuditEvent.objects.order_by("-id").values_list("id", flat=True)[0]


def test_sign_up_is_audited(client):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Nova Newcomer",
            "email": "new.person@example.test",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    event = the_one_event("accounts.user.signed_up")
    assert event.actor.email == "new.person@example.test"


def test_login_is_audited_with_its_methods(client):
    user = UserFactory.create()

    submit_password(client, user.email)

    event = the_one_event("accounts.login.succeeded")
    assert (event.actor_id, event.target_id) == (user.pk, user.public_id)
    assert event.data == {"methods": ["password"]}


def test_failed_login_is_audited_without_the_address_tried(client):
    user = UserFactory.create()

    submit_password(client, user.email, WRONG_PASSWORD)

    event = the_one_event("accounts.login.failed", outcome="failure")
    assert event.actor_id is None
    assert event.target_id == user.public_id
    assert event.data == {
        "known_account": True,
        "reason": "invalid_credentials",
        "identity": login_identity(user.email),
    }


def test_failed_login_for_an_unknown_address_is_audited_without_it(client):
    submit_password(client, "stranger@example.test", WRONG_PASSWORD)

    event = the_one_event("accounts.login.failed", outcome="failure")
    assert event.target_id == ""
    assert event.data == {
        "known_account": False,
        "reason": "invalid_credentials",
        "identity": login_identity("stranger@example.test"),
    }
    assert "stranger" not in json.dumps(event.data)


def test_failed_logins_tell_the_same_address_from_another_by_its_keyed_hash(client):
    for tried in ("Stranger@Example.test", " stranger@example.test", "other@example.test"):
        submit_password(client, tried, WRONG_PASSWORD)

    identities = [
        event.data["identity"]
        for event in AuditEvent.objects.filter(action="accounts.login.failed").order_by("id")
    ]
    # Normalised as the lockout counts accounts: the first two are one address.
    assert identities[0] == identities[1] != identities[2]
    # Keyed: not a plain hash anyone could compute from a guessed address.
    assert identities[0] != hashlib.sha256(b"stranger@example.test").hexdigest()[:32]
    assert len(identities[0]) == 2 * LOGIN_IDENTITY_BYTES


def test_lockout_is_audited_once(client):
    user = UserFactory.create()
    for _ in range(10):
        submit_password(client, user.email, WRONG_PASSWORD)

    event = the_one_event("accounts.login.locked_out", outcome="denied")
    assert event.target_id == user.public_id


def test_throttled_login_is_audited(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "2/15m/ip"}
    users = UserFactory.create_batch(3)
    for user in users:
        submit_password(client, user.email, WRONG_PASSWORD)

    event = the_one_event("accounts.login.throttled", outcome="denied")
    assert event.data == {"rate": "login_failed"}
    assert AuditEvent.objects.filter(action="accounts.login.failed").count() == 2


def test_logout_is_audited(client):
    user = UserFactory.create()
    client.force_login(user)

    client.post(reverse("account_logout"))

    assert the_one_event("accounts.logout").actor_id == user.pk


def test_password_change_is_audited(client):
    user = UserFactory.create()
    client.force_login(user)

    response = client.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert the_one_event("accounts.password.changed").actor_id == user.pk


def test_password_reset_is_audited(client):
    user = UserFactory.create()
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = next(word for word in mail.outbox[0].body.split() if "/password/reset/key/" in word)
    form_url = client.get(link)["Location"]

    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    event = the_one_event("accounts.password.reset", secrets=[link.rsplit("/", 2)[-2]])
    assert (event.actor_id, event.data) == (user.pk, {"lock_lifted": False})


def test_mfa_enrolment_is_audited_once_per_authenticator(
    client, django_capture_on_commit_callbacks
):
    user = UserFactory.create()
    client.force_login(user)

    with django_capture_on_commit_callbacks(execute=True):
        secret = enrol_totp(client)

    added = AuditEvent.objects.filter(action="accounts.mfa.added")
    assert sorted(e.data["authenticator_type"] for e in added) == ["recovery_codes", "totp"]
    for event in added:
        assert event.outcome == "success"
        assert event.actor_id == user.pk
        assert secret not in json.dumps(event.data)


def test_mfa_removal_is_audited_once_per_authenticator(client):
    user = UserFactory.create()
    client.force_login(user)
    enrol_totp(client)
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)

    client.post(reverse("mfa_deactivate_totp"))

    removed = AuditEvent.objects.filter(action="accounts.mfa.removed")
    assert sorted(e.data["authenticator_type"] for e in removed) == ["recovery_codes", "totp"]
    assert {"authenticator_type": "totp", "authenticator_id": str(totp.pk)} in [
        e.data for e in removed
    ]


def test_mfa_use_at_login_is_audited(client, enrolled):
    user, secret, start = enrolled
    with time_machine.travel(LATER, tick=False):
        submit_password(client, user.email)
        code = totp_code(secret)
        client.post(reverse("mfa_authenticate"), {"code": code})

    event = the_one_event("accounts.mfa.used", secrets=[secret, code], after=start)
    assert event.data["reauthentication"] is False
    assert event.data["authenticator_type"] == "totp"
    login = the_one_event("accounts.login.succeeded", after=start)
    assert login.data == {"methods": ["mfa", "password"]}


def test_wrong_mfa_code_is_audited(client, enrolled):
    user, secret, start = enrolled
    with time_machine.travel(LATER, tick=False):
        submit_password(client, user.email)
        wrong = totp_code(secret, step=5)
        client.post(reverse("mfa_authenticate"), {"code": wrong})

    event = the_one_event(
        "accounts.mfa.failed", outcome="failure", secrets=[secret, wrong], after=start
    )
    assert event.target_id == user.public_id
    assert event.data["reauthentication"] is False


def test_recovery_code_use_is_audited(client, enrolled):
    user, _secret, start = enrolled
    code = recovery_codes_of(user)[0]
    submit_password(client, user.email)

    client.post(reverse("mfa_authenticate"), {"code": code})

    event = the_one_event("accounts.mfa.recovery_code_used", secrets=[code], after=start)
    assert event.data["authenticator_type"] == "recovery_codes"
    assert not AuditEvent.objects.filter(action="accounts.mfa.used").exists()


def test_recovery_code_regeneration_is_audited(
    client, enrolled, django_capture_on_commit_callbacks
):
    user, _secret, start = enrolled
    client.force_login(user)
    reauthenticate(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_generate_recovery_codes"))

    assert response.status_code == 302
    codes = recovery_codes_of(user)
    the_one_event("accounts.mfa.recovery_codes_regenerated", secrets=codes, after=start)


def test_password_reauthentication_is_audited(client):
    user = UserFactory.create()
    client.force_login(user)

    assert reauthenticate(client).status_code == 302

    event = the_one_event("accounts.reauthenticated")
    assert (event.actor_id, event.data) == (user.pk, {"method": "password"})


def test_mfa_reauthentication_is_audited(client, enrolled):
    user, secret, start = enrolled
    with time_machine.travel(LATER, tick=False):
        client.force_login(user)
        code = totp_code(secret)
        response = client.post(reverse("mfa_reauthenticate"), {"code": code})

    assert response.status_code == 302
    event = the_one_event("accounts.reauthenticated", secrets=[secret, code], after=start)
    assert event.data == {"method": "mfa", "authenticator_type": "totp"}
    used = the_one_event("accounts.mfa.used", after=start)
    assert used.data["reauthentication"] is True


def test_failed_mfa_reauthentication_is_audited_with_its_actor(client, enrolled):
    user, secret, start = enrolled
    with time_machine.travel(LATER, tick=False):
        client.force_login(user)
        client.post(reverse("mfa_reauthenticate"), {"code": totp_code(secret, step=5)})

    event = the_one_event("accounts.mfa.failed", outcome="failure", secrets=[secret], after=start)
    assert event.actor_id == user.pk
    assert event.data["reauthentication"] is True
    assert not AuditEvent.objects.filter(action="accounts.reauthenticated", pk__gt=start).exists()


def test_ending_a_session_is_audited(client):
    user = UserFactory.create()
    other = type(client)()
    other.force_login(user)
    other.get(reverse("home"))
    client.force_login(user)

    client.post(reverse("usersessions_list"))

    event = the_one_event("accounts.session.ended")
    assert event.actor_id == user.pk
    assert event.data["current"] is False


def test_session_expiry_is_audited_once(client):
    user = UserFactory.create()
    with time_machine.travel(ENROLLED_AT, tick=False) as traveller:
        client.force_login(user)
        traveller.shift(timedelta(hours=25))
        client.get(reverse("home"))
        client.get(reverse("home"))

    event = the_one_event("accounts.session.expired")
    assert event.data == {"reason": "idle"}
    assert not AuditEvent.objects.filter(action="accounts.logout").exists()


def test_refused_staff_without_mfa_is_audited(client):
    staff = StaffUserFactory.create()
    client.force_login(staff)

    client.get("/admin/")

    event = the_one_event("accounts.mfa.enrolment_required", outcome="denied")
    assert event.actor_id == staff.pk

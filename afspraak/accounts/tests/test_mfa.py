"""MFA with allauth (control O2): TOTP enrolment and login, replay refusal, recovery codes,
encrypted secrets, and who must enrol."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.urls import reverse

from afspraak.accounts.mfa_secrets import MFASecretRejected, OwnedCiphertext
from afspraak.accounts.middleware import mfa_required
from afspraak.accounts.tests.signin import (
    enrol_totp,
    reauthenticate,
    recovery_codes_of,
    submit_password,
    totp_code,
)
from afspraak.audit.models import AuditEvent
from afspraak.testing.factories import MembershipFactory, StaffUserFactory, UserFactory

# Codes this many periods away are outside the accepted clock drift.
BEYOND_TOLERANCE = settings.MFA_TOTP_TOLERANCE + 1

pytestmark = pytest.mark.django_db

# The middle of a TOTP period, so a frozen clock never sits on a period boundary. Codes are
# entered in later periods than the enrolment, whose confirming code is spent.
MID_PERIOD = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
LATER = MID_PERIOD + timedelta(minutes=5)


def _logged_in_user(client):
    response = client.get(reverse("home"))
    return response.context["user"]


def _log_in_up_to_the_mfa_step(client, user):
    response = submit_password(client, user.email)
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    return response


@pytest.fixture
def enrolled(client):
    """A user with TOTP enrolled through the real pages, then logged out."""
    user = UserFactory.create()
    with time_machine.travel(MID_PERIOD, tick=False):
        client.force_login(user)
        secret = enrol_totp(client)
        client.post(reverse("account_logout"))
    return user, secret


def test_password_alone_stops_at_the_mfa_step_and_a_valid_code_logs_in(client, enrolled):
    user, secret = enrolled
    with time_machine.travel(LATER, tick=False):
        _log_in_up_to_the_mfa_step(client, user)
        assert not _logged_in_user(client).is_authenticated

        wrong = client.post(
            reverse("mfa_authenticate"), {"code": totp_code(secret, step=-BEYOND_TOLERANCE)}
        )
        assert wrong.status_code == 200
        assert "Incorrect code" in wrong.content.decode()
        assert not _logged_in_user(client).is_authenticated

        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert response.status_code == 302
        assert _logged_in_user(client) == user


def test_a_used_totp_code_is_refused_in_a_second_login(client, enrolled):
    user, secret = enrolled
    with time_machine.travel(LATER, tick=False):
        code = totp_code(secret)
        _log_in_up_to_the_mfa_step(client, user)
        assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
        client.post(reverse("account_logout"))

        _log_in_up_to_the_mfa_step(client, user)
        replay = client.post(reverse("mfa_authenticate"), {"code": code})

        assert replay.status_code == 200
        assert "Incorrect code" in replay.content.decode()
        assert not _logged_in_user(client).is_authenticated

    with time_machine.travel(LATER + timedelta(seconds=30), tick=False):
        fresh = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert fresh.status_code == 302
        assert _logged_in_user(client) == user


def test_the_code_that_confirmed_enrolment_cannot_log_in(client):
    user = UserFactory.create()
    with time_machine.travel(MID_PERIOD, tick=False):
        client.force_login(user)
        secret = enrol_totp(client)
        client.post(reverse("account_logout"))

        _log_in_up_to_the_mfa_step(client, user)
        replay = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert replay.status_code == 200
        assert not _logged_in_user(client).is_authenticated

        early = {"code": totp_code(secret, step=BEYOND_TOLERANCE)}
        fresh = client.post(reverse("mfa_authenticate"), early)
    assert fresh.status_code == 200, "a code beyond the drift tolerance is not valid yet"
    with time_machine.travel(MID_PERIOD + timedelta(seconds=30), tick=False):
        fresh = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert fresh.status_code == 302
        assert _logged_in_user(client) == user


def test_a_recovery_code_logs_in_once_only(client, enrolled):
    user, _secret = enrolled
    code = recovery_codes_of(user)[0]

    _log_in_up_to_the_mfa_step(client, user)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert _logged_in_user(client) == user
    assert code not in recovery_codes_of(user)
    client.post(reverse("account_logout"))

    _log_in_up_to_the_mfa_step(client, user)
    second = client.post(reverse("mfa_authenticate"), {"code": code})
    assert second.status_code == 200
    assert not _logged_in_user(client).is_authenticated


def test_totp_secret_is_stored_only_as_ciphertext(client, enrolled):
    user, secret = enrolled
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    raw_secret = base64.b32decode(secret)

    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM mfa_authenticator WHERE user_id = %s", [user.pk])
        stored_rows = [str(row[0]) for row in cursor.fetchall()]

    assert len(stored_rows) == 2  # TOTP and the recovery codes generated with it
    for stored in stored_rows:
        for plain in (secret, secret.lower(), raw_secret.hex(), base64.b64encode(raw_secret)):
            assert (plain if isinstance(plain, str) else plain.decode()) not in stored
    stored_secret = authenticator.data["secret"]
    assert stored_secret.startswith("tink2:")
    assert get_adapter().decrypt(stored_secret) == secret


def test_tampered_secret_ciphertext_is_refused(enrolled):
    user, _secret = enrolled
    stored = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP).data["secret"]
    body = bytearray(base64.b64decode(stored.removeprefix("tink2:")))
    body[-1] ^= 1
    tampered = OwnedCiphertext("tink2:" + base64.b64encode(bytes(body)).decode(), user.pk)

    with pytest.raises(MFASecretRejected):
        get_adapter().decrypt(tampered)


@pytest.mark.parametrize(
    "stored", ["tink2:" + "A" * 40, "tink1:" + "A" * 40, "JBSWY3DPEHPK3PXP"], ids=str
)
def test_a_secret_not_loaded_from_its_users_row_is_refused(stored):
    with pytest.raises(MFASecretRejected):
        get_adapter().decrypt(stored)


def test_a_secret_copied_onto_another_users_authenticator_does_not_log_in(client, enrolled):
    attacker, attackers_secret = enrolled
    victim = UserFactory.create()
    TOTP.activate(victim, generate_totp_secret())
    # Someone with write access to the table gives the victim the attacker's known secret.
    copied = Authenticator.objects.get(user=attacker, type=Authenticator.Type.TOTP).data
    Authenticator.objects.filter(user=victim, type=Authenticator.Type.TOTP).update(data=copied)

    with time_machine.travel(LATER, tick=False):
        _log_in_up_to_the_mfa_step(client, victim)
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(attackers_secret)})

    assert response.status_code == 403
    assert not _logged_in_user(client).is_authenticated
    assert AuditEvent.objects.filter(
        action="accounts.mfa.secret_rejected", outcome="denied", target_id=victim.public_id
    ).exists()


def test_the_owners_own_secret_still_validates_after_a_reload(client, enrolled):
    user, secret = enrolled
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)

    assert isinstance(authenticator.data["secret"], OwnedCiphertext)
    assert authenticator.wrap().validate_code(totp_code(secret))


def test_regular_user_without_mfa_is_not_sent_to_enrolment(client):
    client.force_login(UserFactory.create())

    assert client.get(reverse("home")).status_code == 200


def test_member_of_an_organization_that_requires_mfa_must_enrol(client):
    membership = MembershipFactory.create(organization__require_mfa=True)
    client.force_login(membership.user)

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")


def test_member_of_organizations_that_do_not_require_mfa_is_not_forced(client):
    membership = MembershipFactory.create(organization__require_mfa=False)
    client.force_login(membership.user)

    assert client.get(reverse("home")).status_code == 200


def test_member_who_enrolled_reaches_pages_again(client):
    membership = MembershipFactory.create(organization__require_mfa=True)
    client.force_login(membership.user)

    enrol_totp(client)

    assert client.get(reverse("home")).status_code == 200


def test_staff_cannot_remove_their_only_second_factor(client):
    staff = StaffUserFactory.create()
    client.force_login(staff)
    enrol_totp(client)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 200
    assert "You cannot deactivate two-factor authentication" in response.content.decode()
    assert Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists()


def test_regular_user_can_remove_totp(client):
    user = UserFactory.create()
    client.force_login(user)
    enrol_totp(client)

    response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()


def test_staff_without_mfa_can_open_the_security_key_enrolment(client):
    client.force_login(StaffUserFactory.create())
    reauthenticate(client)

    response = client.get(reverse("mfa_add_webauthn"))

    assert response.status_code == 200
    page = response.content.decode()
    assert '<script src="/static/mfa/js/webauthn.' in page
    assert '"creation_options"' in page


def test_a_security_key_counts_as_a_second_factor(client):
    staff = StaffUserFactory.create()
    Authenticator.objects.create(user=staff, type=Authenticator.Type.WEBAUTHN, data={})
    client.force_login(staff)

    assert client.get(reverse("home")).status_code == 200


def test_recovery_codes_alone_do_not_count_as_a_second_factor(client):
    staff = StaffUserFactory.create()
    Authenticator.objects.create(
        user=staff, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "x", "used_mask": 0}
    )
    client.force_login(staff)

    assert client.get(reverse("home"))["Location"] == reverse("mfa_index")


@pytest.mark.parametrize(
    ("kind", "required"),
    [
        ("anonymous", False),
        ("user", False),
        ("staff", True),
        ("superuser only", True),
        ("member, MFA not required", False),
        ("member, MFA required", True),
    ],
)
def test_mfa_required_says_who_must_enrol(rf, kind, required):
    request = rf.get("/")
    request.user = {
        "anonymous": lambda: AnonymousUser(),
        "user": lambda: UserFactory.create(),
        "staff": lambda: UserFactory.create(is_staff=True),
        "superuser only": lambda: UserFactory.create(is_superuser=True),
        "member, MFA not required": lambda: MembershipFactory.create().user,
        "member, MFA required": lambda: (
            MembershipFactory.create(organization__require_mfa=True).user
        ),
    }[kind]()

    assert mfa_required(request) is required


def test_removing_totp_needs_a_recent_reauthentication(client):
    user = UserFactory.create()
    with time_machine.travel(MID_PERIOD, tick=False) as traveller:
        client.force_login(user)
        enrol_totp(client)
        traveller.shift(timedelta(minutes=10))

        response = client.post(reverse("mfa_deactivate_totp"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ((), False),
        ((Authenticator.Type.RECOVERY_CODES,), False),
        ((Authenticator.Type.TOTP,), True),
        ((Authenticator.Type.WEBAUTHN,), True),
    ],
)
def test_only_totp_or_a_security_key_counts_as_a_second_factor(kinds, expected):
    user = UserFactory.create()
    for kind in kinds:
        Authenticator.objects.create(user=user, type=kind, data={})

    assert user.has_mfa() is expected

"""The password policy (controls D1, O3): hashing, strength, reuse, every path that sets one."""

import random
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.hashers import check_password, identify_hasher
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from afspraak.accounts.models import PasswordHistoryEntry, User
from afspraak.accounts.passwords import (
    ContextWordsValidator,
    HistoryValidator,
    LengthValidator,
    StrengthValidator,
    base_words,
    find_password_problems,
    split_phrase,
)
from afspraak.audit.models import AuditEvent
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"
STRONG_15 = "vq7#Lm2!xR9@tZ4"
PASSPHRASE = (
    "quiet lanterns drift over amber canals while seven herons argue about velvet thunder "
    "near broken compasses and silver orchards beyond"
)
NEW_PASSWORD = "copper kites hum above frozen orchards"
SIX_PASSWORDS = [
    "granite otters juggle violet lanterns",
    "seven herons argue about velvet thunder",
    "broken compasses point at silver orchards",
    "midnight trams carry sleepy cellists home",
    "paper boats race along the autumn gutters",
    "woolly mammoths knit scarves for penguins",
]


def reasons(password: str, user: User | None = None) -> list[str]:
    """Return the messages the configured rules give for ``password``."""
    try:
        validate_password(password, user)
    except ValidationError as error:
        return error.messages
    return []


def reset_link_from(mailoutbox) -> str:
    """Return the path of the password-reset link in the last e-mail sent."""
    match = re.search(r"https://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[-1].body)
    assert match, mailoutbox[-1].body
    return match.group(1)


def reset_password_by_email(client, mailoutbox, user, new_password: str):
    """Run allauth's reset flow from the request to the new password; return the last response."""
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    response = client.get(reset_link_from(mailoutbox))
    # allauth moves the key from the URL into the session before showing the form.
    assert response.status_code == 302
    return client.post(response["Location"], {"password1": new_password, "password2": new_password})


# --- Hashing (D1) ---------------------------------------------------------------------------------


@pytest.mark.real_password_hasher
def test_set_password_stores_pbkdf2_sha256_with_a_million_iterations():
    user = UserFactory.create(password=NEW_PASSWORD)

    assert user.password.startswith("pbkdf2_sha256$1000000$")
    assert user.check_password(NEW_PASSWORD)
    assert PasswordHistoryEntry.objects.get(user=user).password_hash.startswith(
        "pbkdf2_sha256$1000000$"
    )


@pytest.mark.real_password_hasher
def test_sign_up_stores_pbkdf2_sha256_with_a_million_iterations(client):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Nova Newcomer",
            "email": "newcomer@example.test",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="newcomer@example.test")
    assert user.password.startswith("pbkdf2_sha256$1000000$")


# --- Length ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        (STRONG_15[:14], False),
        (STRONG_15, True),
        (PASSPHRASE[:64], True),
        (PASSPHRASE[:128], True),
        (PASSPHRASE[:128] + "x", False),
    ],
    ids=["14-rejected", "15-accepted", "64-accepted", "128-accepted", "129-rejected"],
)
def test_length_validator_accepts_15_to_128_characters(password, accepted):
    validator = LengthValidator(min_length=15, max_length=128)

    if accepted:
        validator.validate(password)
    else:
        with pytest.raises(ValidationError):
            validator.validate(password)


@pytest.mark.parametrize("password", [STRONG_15, PASSPHRASE[:64], PASSPHRASE[:128]])
def test_policy_accepts_strong_passwords_of_15_64_and_128_characters(password):
    assert reasons(password, UserFactory.build(email="someone@example.test")) == []


def test_policy_rejects_a_14_character_password_saying_how_long_it_must_be():
    assert any("use at least 15 characters" in r for r in reasons(STRONG_15[:14]))


def test_policy_rejects_a_129_character_password_saying_the_maximum():
    assert "This password is too long: use at most 128 characters." in reasons(PASSPHRASE[:129])


def test_length_validator_refuses_a_maximum_below_64():
    with pytest.raises(ValueError, match="64"):
        LengthValidator(max_length=63)


# --- Common and weak passwords --------------------------------------------------------------------


def test_common_password_is_rejected_even_when_zxcvbn_rates_it_strong():
    common = "doomsayer.2.7mords.v"  # 20 characters, on Django's list of leaked passwords
    StrengthValidator().validate(common)

    assert "This password is too common." in reasons(common)


def test_easily_guessed_password_is_rejected_with_zxcvbn_advice():
    found = reasons("aaaaaaaaaaaaaaaa")

    assert any(r.startswith("This password is too easy to guess.") for r in found)
    assert any("Repeats" in r for r in found)


@pytest.mark.parametrize("length", [73, 100, 128, 10_000])
def test_passwords_longer_than_zxcvbn_accepts_do_not_crash_it(length):
    password = (PASSPHRASE * 80)[:length]

    StrengthValidator().validate(password)
    found = reasons(password)
    assert (length > 128) == ("This password is too long: use at most 128 characters." in found)


COMMON_PATTERN = "This is a common password with a few digits and symbols added"
COMMON_PHRASE = "This is a common phrase run together, with a few digits or symbols added"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Password123456789!", COMMON_PATTERN),
        ("Password123!Pass", COMMON_PATTERN),
        ("Afspraak-is-great-2026", "This is “afspraak”, which anyone targeting you would try"),
        ("Amsterdam2026!!!", COMMON_PATTERN),
        ("Summer2024!Summer", COMMON_PATTERN),
        ("P4ssw0rd-P4ssw0rd-2024", COMMON_PATTERN),
        ("Afspraak-2026-12345678", "This is “afspraak”, which anyone targeting you would try"),
        ("Ilovemydog2026!!", COMMON_PHRASE),
        ("Iloveyouforever2026", COMMON_PHRASE),
    ],
)
def test_sign_up_refuses_a_common_word_dressed_up_with_digits_and_symbols(client, password, why):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Nova Newcomer",
            "email": "newcomer@example.test",
            "password1": password,
            "password2": password,
        },
    )

    assert response.status_code == 200
    assert any(why in error for error in response.context["form"].errors["password1"])
    assert not User.objects.filter(email="newcomer@example.test").exists()


def test_users_own_name_with_a_common_word_and_a_year_is_refused():
    user = UserFactory.create(email="dirk.jansen@example.test", full_name="Dirk Jansen")

    assert any("This is “Jansen”" in r for r in reasons("Jansen-Welcome-1987!", user))


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("P4ssw0rd2024!!", ["password"]),
        ("Summer2024!Summer", ["summer", "summer"]),
        ("SummerSummer99", ["summer"]),
        ("Ünïcode-Wörd_2026", ["unicode", "word"]),
        ("vq7#Lm2!xR9@tZ4", ["vq", "lm", "xr9atz"]),
    ],
)
def test_base_words_drop_digits_at_the_ends_look_alikes_and_repeats(password, words):
    assert base_words(password) == words


@pytest.mark.parametrize(
    ("word", "words"),
    [
        ("ilovemydog", ["ilove", "mydog"]),
        ("iloveyouforever", ["iloveyou", "forever"]),
        ("summer", ["summer"]),
        # More words than a common pattern has, or no common words at all: not a phrase.
        ("correcthorsebatterystaple", None),
        ("vqlmxrtz", None),
    ],
)
def test_a_phrase_run_together_is_split_into_the_fewest_common_words(word, words):
    assert split_phrase(word, max_words=2) == words


@pytest.mark.parametrize("seed", range(20))
def test_five_random_words_run_together_are_accepted(seed):
    user = UserFactory.build(email="someone@example.test")

    assert reasons(random_passphrase(random.Random(seed)).replace("-", ""), user) == []


def random_passphrase(rng: random.Random, count: int = 5) -> str:
    """Return ``count`` words drawn from the 10,000 most frequent English words."""
    english = FREQUENCY_LISTS["english_wikipedia"][:10_000]
    words = [w for w in english if w.isalpha() and 4 <= len(w) <= 8]
    return "-".join(rng.choice(words) for _ in range(count))


@pytest.mark.parametrize("seed", range(20))
def test_a_five_word_random_passphrase_is_accepted(seed):
    user = UserFactory.build(email="someone@example.test")

    assert reasons(random_passphrase(random.Random(seed)), user) == []


# --- Similarity to the user and to context words --------------------------------------------------


def test_password_similar_to_the_email_is_rejected():
    user = UserFactory.create(email="marjolein.vandenberg@example.test")

    assert "The password is too similar to the email." in reasons("marjolein.vandenberg1", user)


def test_password_built_on_the_users_first_name_is_rejected():
    user = UserFactory.create(email="marjolein.vandenberg@example.test", full_name="Marjolein Vos")

    found = reasons("marjolien-2024-!!", user)  # swapped letters do not hide the name

    assert any("built on “marjolein”" in r for r in found)


@pytest.mark.parametrize(
    "password", ["afspraak2024!!!!", "Afspraak-Afspraak-1", "4fspr44k!2024!!!", "afpsraak2024!!!!"]
)
def test_password_built_on_the_product_name_is_rejected(password):
    assert any("built on “afspraak”" in r for r in reasons(password, UserFactory.create()))


def test_password_built_on_the_users_organization_name_is_rejected():
    member = MembershipFactory.create(
        organization=OrganizationFactory.create(name="Zonnebloem Tandartsen")
    ).user
    outsider = UserFactory.create()

    assert any("built on “Zonnebloem”" in r for r in reasons("Zonnebloem!2024#x", member))
    assert reasons("Zonnebloem!2024#x", outsider) == []


def test_accents_and_look_alike_digits_do_not_hide_an_organization_name():
    member = MembershipFactory.create(
        organization=OrganizationFactory.create(name="Bakkerij Müller")
    ).user

    assert any("built on “Müller”" in r for r in reasons("MULL3R!2024#xq", member))


def test_long_passphrase_containing_a_short_organization_name_is_accepted():
    member = MembershipFactory.create(organization=OrganizationFactory.create(name="Acme")).user

    assert reasons("quiet lanterns drift over acme canals", member) == []
    assert any("built on “Acme”" in r for r in reasons("acmeacmeacme2024!!", member))


def test_context_rule_needs_eight_characters_of_the_users_own():
    validator = ContextWordsValidator(min_other_chars=8)

    validator.validate("afspraak" + "Tr0ub4dx")
    with pytest.raises(ValidationError, match="afspraak"):
        validator.validate("afspraak" + "Tr0ub4d")


def test_sign_up_form_refuses_a_password_built_on_the_email(client):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Nova Newcomer",
            "email": "marjolein.vandenberg@example.test",
            "password1": "marjolein2024!!!!!",
            "password2": "marjolein2024!!!!!",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["password1"]
    assert any("built on “marjolein”" in e for e in errors)
    assert not User.objects.filter(email="marjolein.vandenberg@example.test").exists()


def test_sign_up_form_shows_every_rule_that_refused_the_password(client):
    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Nova Newcomer",
            "email": "new@example.test",
            "password1": "afspraak",
            "password2": "afspraak",
        },
    )

    errors = response.context["form"].errors["password1"]
    assert any("too short" in e for e in errors)
    assert any("built on “afspraak”" in e for e in errors)
    assert any("too easy to guess" in e for e in errors)
    assert "too short" in response.content.decode()


# --- Reuse (O3) -----------------------------------------------------------------------------------


def test_reused_password_is_rejected_for_the_last_five_and_allowed_for_the_sixth_back():
    user = UserFactory.create(password=SIX_PASSWORDS[0])
    for password in SIX_PASSWORDS[1:]:
        user.set_password(password)
        user.save()
    validator = HistoryValidator(depth=5)

    for password in SIX_PASSWORDS[1:]:
        with pytest.raises(ValidationError, match="one of your last 5"):
            validator.validate(password, user)
    validator.validate(SIX_PASSWORDS[0], user)
    assert reasons(SIX_PASSWORDS[0], user) == []
    assert "This password is one of your last 5; choose one you have not used." in reasons(
        SIX_PASSWORDS[-1], user
    )


def test_history_keeps_only_five_hashes_and_never_the_passwords():
    user = UserFactory.create(password=SIX_PASSWORDS[0])
    other = UserFactory.create()
    for password in SIX_PASSWORDS[1:]:
        user.set_password(password)
        user.save()

    hashes = list(user.password_history.values_list("password_hash", flat=True))
    assert len(hashes) == 5
    assert hashes[0] == user.password
    assert [
        check_password(p, h) for p, h in zip(reversed(SIX_PASSWORDS), hashes, strict=False)
    ] == [True] * 5
    for stored in hashes:
        identify_hasher(stored)
        assert not any(p in stored for p in SIX_PASSWORDS)
    assert other.password_history.count() == 1


def test_current_password_counts_as_used_even_without_history():
    user = UserFactory.create(password=NEW_PASSWORD)
    PasswordHistoryEntry.objects.filter(user=user).delete()

    assert "This password is one of your last 5; choose one you have not used." in reasons(
        NEW_PASSWORD, user
    )


def test_saving_a_user_without_changing_the_password_adds_no_history():
    user = UserFactory.create()
    user.full_name = "Someone Else"
    user.save()

    assert user.password_history.count() == 1


def test_unusable_password_is_not_recorded():
    user = UserFactory.create()
    user.set_unusable_password()
    user.save()

    assert user.password_history.count() == 1


# --- Every path that sets a password records it ---------------------------------------------------


def newest_history_hash(user) -> str:
    return PasswordHistoryEntry.objects.filter(user=user).values_list("password_hash", flat=True)[0]


def test_password_change_view_records_history_and_refuses_reuse(client):
    user = UserFactory.create()
    client.force_login(user, backend=ALLAUTH_BACKEND)
    url = reverse("account_change_password")

    refused = client.post(
        url,
        {
            "oldpassword": DEFAULT_PASSWORD,
            "password1": DEFAULT_PASSWORD,
            "password2": DEFAULT_PASSWORD,
        },
    )
    assert refused.status_code == 200
    assert "This password is one of your last 5" in refused.content.decode()

    response = client.post(
        url, {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert user.password_history.count() == 2
    assert check_password(NEW_PASSWORD, newest_history_hash(user))
    assert AuditEvent.objects.filter(action="accounts.password.changed", actor=user).exists()
    # The session survives the change (its auth hash was updated).
    assert client.get(reverse("home")).context["user"] == user


def test_set_password_view_records_history(client):
    user = UserFactory.create()
    user.set_unusable_password()
    user.save()
    client.force_login(user, backend=ALLAUTH_BACKEND)

    response = client.post(
        reverse("account_set_password"), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert check_password(NEW_PASSWORD, newest_history_hash(user))


def test_password_reset_records_history_and_refuses_reuse(client, mailoutbox):
    user = UserFactory.create()

    refused = reset_password_by_email(client, mailoutbox, user, DEFAULT_PASSWORD)
    assert refused.status_code == 200
    assert "This password is one of your last 5" in refused.content.decode()

    response = client.post(
        refused.request["PATH_INFO"], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert check_password(NEW_PASSWORD, newest_history_hash(user))
    assert AuditEvent.objects.filter(action="accounts.password.reset", target_id=user.public_id)


def test_admin_password_form_records_history_and_refuses_reuse():
    user = UserFactory.create()

    refused = AdminPasswordChangeForm(
        user, {"password1": DEFAULT_PASSWORD, "password2": DEFAULT_PASSWORD}
    )
    assert not refused.is_valid()
    form = AdminPasswordChangeForm(user, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert form.is_valid(), form.errors
    form.save()

    assert check_password(NEW_PASSWORD, newest_history_hash(user))


def test_find_password_problems_can_leave_out_the_costly_reuse_check():
    user = UserFactory.create()

    assert find_password_problems(DEFAULT_PASSWORD, user=user, include_history=False) == []
    assert find_password_problems(DEFAULT_PASSWORD, user=user) == [
        "This password is one of your last 5; choose one you have not used."
    ]


# --- A reset never bypasses MFA -------------------------------------------------------------------


def test_password_reset_does_not_log_the_user_in(client, mailoutbox, settings):
    assert settings.ACCOUNT_LOGIN_ON_PASSWORD_RESET is False
    user = UserFactory.create()

    response = reset_password_by_email(client, mailoutbox, user, NEW_PASSWORD)

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert not client.get(reverse("home")).context["user"].is_authenticated


def test_login_after_reset_still_asks_for_the_second_factor(client, mailoutbox):
    user = UserFactory.create()
    TOTP.activate(user, generate_totp_secret())

    reset_password_by_email(client, mailoutbox, user, NEW_PASSWORD)
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session

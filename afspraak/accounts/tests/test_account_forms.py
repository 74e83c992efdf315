"""Bad input on every account form and the password API: a clear error, never a 500."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from afspraak.accounts.models import User
from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"
NEW_PASSWORD = "copper kites hum above frozen orchards"
NEWCOMER = "newcomer@example.test"


@dataclass
class Form:
    """One account form: how to reach it, its fields, valid data, and how to see it took effect."""

    name: str
    fields: tuple[str, ...]
    email_fields: tuple[str, ...]
    open: Callable[[Any, Any], tuple[str, Any]]
    valid: dict[str, str]
    took_effect: Callable[[Any, Any, Any], bool]


def _anonymous(url_name: str) -> Callable[[Any, Any], tuple[str, Any]]:
    def open_form(client: Any, mailoutbox: Any) -> tuple[str, Any]:
        return reverse(url_name), UserFactory.create()

    return open_form


def _signed_in(url_name: str, *, usable_password: bool = True) -> Callable[..., tuple[str, Any]]:
    def open_form(client: Any, mailoutbox: Any) -> tuple[str, Any]:
        user = UserFactory.create()
        if not usable_password:
            user.set_unusable_password()
            user.save()
        client.force_login(user, backend=ALLAUTH_BACKEND)
        return reverse(url_name), user

    return open_form


def _reset_from_key(client: Any, mailoutbox: Any) -> tuple[str, Any]:
    user = UserFactory.create()
    client.post(reverse("account_reset_password"), {"email": user.email})
    link = re.search(r"https://[^/\s]+(/accounts/password/reset/key/\S+/)", mailoutbox[-1].body)
    assert link
    response = client.get(link.group(1))
    assert response.status_code == 302
    return response["Location"], user


def _password_is(password: str) -> Callable[[Any, Any, Any], bool]:
    def check(client: Any, user: Any, mailoutbox: Any) -> bool:
        user.refresh_from_db()
        return user.check_password(password)

    return check


FORMS = [
    Form(
        name="signup",
        fields=("full_name", "email", "password1", "password2"),
        email_fields=("email",),
        open=_anonymous("account_signup"),
        valid={
            "full_name": "Nova Newcomer",
            "email": NEWCOMER,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
        took_effect=lambda client, user, outbox: User.objects.filter(email=NEWCOMER).exists(),
    ),
    Form(
        name="login",
        fields=("login", "password"),
        email_fields=("login",),
        open=_anonymous("account_login"),
        valid={},  # filled in with the user's address below
        took_effect=lambda client, user, outbox: "_auth_user_id" in client.session,
    ),
    Form(
        name="change",
        fields=("oldpassword", "password1", "password2"),
        email_fields=(),
        open=_signed_in("account_change_password"),
        valid={
            "oldpassword": DEFAULT_PASSWORD,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
        took_effect=_password_is(NEW_PASSWORD),
    ),
    Form(
        name="set",
        fields=("password1", "password2"),
        email_fields=(),
        open=_signed_in("account_set_password", usable_password=False),
        valid={"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        took_effect=_password_is(NEW_PASSWORD),
    ),
    Form(
        name="reset_request",
        fields=("email",),
        email_fields=("email",),
        open=_anonymous("account_reset_password"),
        valid={},  # filled in with the user's address below
        took_effect=lambda client, user, outbox: len(outbox) > 0,
    ),
    Form(
        name="reset_from_key",
        fields=("password1", "password2"),
        email_fields=(),
        open=_reset_from_key,
        valid={"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        took_effect=_password_is(NEW_PASSWORD),
    ),
]


def valid_data(form: Form, user: Any) -> dict[str, str]:
    data = dict(form.valid)
    for field in form.email_fields:
        data.setdefault(field, user.email)
    if form.name == "login":
        data["password"] = DEFAULT_PASSWORD
    return data


def _each(form: Form, email: str, text: str) -> dict[str, Any]:
    return {f: (email if f in form.email_fields else text) for f in form.fields}


def _raw(form: Form, encoded_value: bytes) -> dict[str, Any]:
    body = b"&".join(f.encode() + b"=" + encoded_value for f in form.fields)
    return {"data": body, "content_type": "application/x-www-form-urlencoded"}


BAD_FORM_INPUT: dict[str, Callable[[Form], dict[str, Any]]] = {
    "no-fields": lambda form: {"data": {}},
    "empty": lambda form: {"data": _each(form, "", "")},
    "blank": lambda form: {"data": _each(form, "   ", "   ")},
    "10000-chars": lambda form: {"data": _each(form, "x" * 10_000 + "@example.test", "x" * 10_000)},
    "nul-chars": lambda form: {
        "data": _each(form, "a\x00b@example.test", "quiet lanterns\x00drift over amber")
    },
    "repeated-fields": lambda form: {"data": {f: ["a", "b"] for f in form.fields}},
    "file-instead-of-text": lambda form: {
        "data": {f: SimpleUploadedFile("x.txt", b"\xff\xfe junk") for f in form.fields}
    },
    "json-body": lambda form: {
        "data": json.dumps({f: [1, {"x": None}] for f in form.fields}),
        "content_type": "application/json",
    },
    "invalid-utf8": lambda form: _raw(form, b"%FF%FE%FD\xff\xfe%C0%80"),
    "surrogates-and-controls": lambda form: _raw(form, b"%ED%A0%80%E2%80%AE%1B%5B2J%0D%0A"),
}


def form_errors(response) -> dict[str, Any]:
    form = response.context["form"] if response.context else None
    return dict(form.errors) if form is not None else {}


@pytest.mark.parametrize("bad", list(BAD_FORM_INPUT), ids=list(BAD_FORM_INPUT))
@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_bad_input_is_refused_with_a_clear_error(client, mailoutbox, form, bad):
    url, user = form.open(client, mailoutbox)
    mailoutbox.clear()

    response = client.post(url, **BAD_FORM_INPUT[bad](form))

    assert response.status_code < 500
    if response.status_code == 200:
        errors = form_errors(response)
        assert errors, "the form was re-rendered without saying what is wrong"
        first = next(iter(errors.values()))[0]
        assert str(first).replace("'", "&#x27;") in response.content.decode()
    else:
        # allauth answers a JSON body in kind, with each field's errors.
        assert 400 <= response.status_code < 500
        form_json = response.json()["form"]
        assert form_json["errors"] or any(f["errors"] for f in form_json["fields"].values())
    assert not form.took_effect(client, user, mailoutbox)


@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_valid_input_is_accepted(client, mailoutbox, form):
    # The counterpart of the bad-input test: the same forms do work with good data.
    url, user = form.open(client, mailoutbox)
    mailoutbox.clear()

    response = client.post(url, valid_data(form, user))

    assert response.status_code == 302, form_errors(response)
    assert form.took_effect(client, user, mailoutbox)


@pytest.mark.parametrize("with_token", [True, False], ids=["with-csrf", "without-csrf"])
@pytest.mark.parametrize("form", FORMS, ids=[f.name for f in FORMS])
def test_form_post_needs_the_csrf_token(client, mailoutbox, form, with_token):
    url, user = form.open(client, mailoutbox)
    mailoutbox.clear()
    client.handler.enforce_csrf_checks = True
    assert client.get(url).status_code == 200  # the page sets the CSRF cookie
    data = valid_data(form, user)
    if with_token:
        data["csrfmiddlewaretoken"] = client.cookies[settings.CSRF_COOKIE_NAME].value

    response = client.post(url, data, headers={"Origin": "https://testserver"})

    if with_token:
        assert response.status_code == 302
        assert form.took_effect(client, user, mailoutbox)
    else:
        assert response.status_code == 403
        assert not form.took_effect(client, user, mailoutbox)


def test_sign_up_with_an_address_already_taken_is_refused_without_500(client):
    user = UserFactory.create()

    response = client.post(
        reverse("account_signup"),
        {
            "full_name": "Nova Newcomer",
            "email": user.email.upper(),
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )

    assert response.status_code in (200, 302)
    assert User.objects.filter(email=user.email).count() == 1
    assert EmailAddress.objects.filter(email__iexact=user.email).count() == 1


# --- The sign-up form ------------------------------------------------------------------------


def test_sign_up_page_shows_only_the_rules_for_a_new_account(client):
    page = client.get(reverse("account_signup")).content.decode()

    assert "Use at least 15 characters" in page
    assert "Do not build your password on your name" in page
    assert "It must be hard to guess" in page
    assert "last 5 passwords" not in page


def test_password_change_page_still_shows_the_reuse_rule(client):
    client.force_login(UserFactory.create(), backend=ALLAUTH_BACKEND)

    page = client.get(reverse("account_change_password")).content.decode()

    assert "It cannot be any of your last 5 passwords." in page


@pytest.mark.real_password_hasher
def test_sign_up_hashes_the_password_once_whether_or_not_the_address_is_known(mailoutbox):
    known = UserFactory.create()
    data = {"full_name": "Nova Newcomer", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    real_encode = PBKDF2PasswordHasher.encode

    with mock.patch.object(
        PBKDF2PasswordHasher, "encode", autospec=True, side_effect=real_encode
    ) as encode:
        for_new = Client().post(reverse("account_signup"), {**data, "email": NEWCOMER}, secure=True)
        hashed_for_new = [call.args[1] for call in encode.call_args_list]
        encode.reset_mock()
        for_known = Client().post(
            reverse("account_signup"), {**data, "email": known.email}, secure=True
        )
        hashed_for_known = [call.args[1] for call in encode.call_args_list]

    assert hashed_for_new == hashed_for_known == [NEW_PASSWORD]
    assert for_new.status_code == for_known.status_code == 302
    assert for_new["Location"] == for_known["Location"]
    assert User.objects.filter(email=NEWCOMER).exists()
    assert User.objects.filter(email=known.email).count() == 1


# --- The password API -------------------------------------------------------------------------

CHANGE_URL = "/api/v1/account/password"
CHECK_URL = "/api/v1/account/password/check"

JSON = "application/json"
BAD_API_INPUT: dict[str, tuple[str, Any, str, int, str]] = {
    # name: (url, body, content type, status, a phrase the error must contain)
    "change-not-json": (CHANGE_URL, "current_password=x", JSON, 400, "JSON parse error"),
    "change-invalid-utf8": (CHANGE_URL, b'{"current_password": "\xff\xfe"}', JSON, 400, "JSON"),
    "change-nan": (CHANGE_URL, '{"current_password": NaN}', JSON, 400, "JSON parse error"),
    "change-list-body": (CHANGE_URL, "[]", JSON, 400, "Expected a dictionary"),
    "change-string-body": (CHANGE_URL, '"x"', JSON, 400, "Expected a dictionary"),
    "change-empty-body": (CHANGE_URL, "", JSON, 400, "required"),
    "change-no-fields": (CHANGE_URL, "{}", JSON, 400, "This field is required."),
    "change-empty-fields": (
        CHANGE_URL,
        '{"current_password": "", "new_password": ""}',
        JSON,
        400,
        "This field may not be blank.",
    ),
    "change-null-fields": (
        CHANGE_URL,
        '{"current_password": null, "new_password": null}',
        JSON,
        400,
        "This field may not be null.",
    ),
    "change-number-fields": (
        CHANGE_URL,
        '{"current_password": 1234567890123456, "new_password": 98765432109876543}',
        JSON,
        400,
        "Not a valid string.",
    ),
    "change-list-fields": (
        CHANGE_URL,
        '{"current_password": ["a"], "new_password": {"b": 1}}',
        JSON,
        400,
        "Not a valid string.",
    ),
    "change-bool-fields": (
        CHANGE_URL,
        '{"current_password": true, "new_password": false}',
        JSON,
        400,
        "Not a valid string.",
    ),
    "change-nul-char": (
        CHANGE_URL,
        json.dumps({"current_password": DEFAULT_PASSWORD, "new_password": "a\u0000" * 10}),
        JSON,
        400,
        "Null characters are not allowed.",
    ),
    "change-lone-surrogate": (
        CHANGE_URL,
        '{"current_password": "x", "new_password": "\\ud800\\ud800 quiet lanterns drift"}',
        JSON,
        400,
        "Surrogate characters are not allowed",
    ),
    "change-10000-char-new": (
        CHANGE_URL,
        json.dumps({"current_password": DEFAULT_PASSWORD, "new_password": "x" * 10_000}),
        JSON,
        400,
        "too long",
    ),
    "change-10000-char-current": (
        CHANGE_URL,
        json.dumps({"current_password": "x" * 10_000, "new_password": NEW_PASSWORD}),
        JSON,
        400,
        "current password is not correct",
    ),
    "change-form-encoded": (
        CHANGE_URL,
        "current_password=a&new_password=b",
        "application/x-www-form-urlencoded",
        415,
        "Unsupported media type",
    ),
    "check-no-fields": (CHECK_URL, "{}", JSON, 400, "This field is required."),
    "check-number": (
        CHECK_URL,
        '{"password": 123456789012345678}',
        JSON,
        400,
        "Not a valid string.",
    ),
    "check-not-json": (CHECK_URL, "{password", JSON, 400, "JSON parse error"),
    "check-10000-chars": (CHECK_URL, json.dumps({"password": "x" * 10_000}), JSON, 200, "too long"),
}


@pytest.mark.parametrize("case", list(BAD_API_INPUT), ids=list(BAD_API_INPUT))
def test_api_bad_input_gets_a_clear_json_error(client, case):
    url, body, content_type, status, phrase = BAD_API_INPUT[case]
    user = UserFactory.create()
    client.force_login(user, backend=ALLAUTH_BACKEND)

    response = client.post(url, body, content_type=content_type)

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert phrase in json.dumps(response.json(), ensure_ascii=False)
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize("url", [CHANGE_URL, CHECK_URL])
def test_api_wrong_method_gets_405_json(client, url):
    client.force_login(UserFactory.create(), backend=ALLAUTH_BACKEND)

    response = client.get(url)

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "GET" not allowed.'}

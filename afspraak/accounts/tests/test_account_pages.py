"""Every account page (allauth's views) renders in the site's design with its elements.

The browser test walks the main flows; this one reaches the pages those flows do not
(e-mail addresses, security keys, a used reset link) and checks that each renders
through the overridden elements: stacked ``.field`` blocks, the design system's buttons,
no library wording ("Sign In", "Sign Up").
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LIBRARY_WORDING = ("Sign In", "Sign Up", "Sign Out", "Signup", "signed out")


def recently_logged_in(client: Client) -> Client:
    """Log in and confirm the password again, as setting up a second factor asks."""
    user = UserFactory.create(full_name="Hanna de Vries")
    client.force_login(user)
    confirmed = client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert confirmed.status_code == 302
    return client


def assert_in_the_design(page: str) -> None:
    for words in LIBRARY_WORDING:
        assert words not in page, words
    # A visible input comes from the overridden elements: its label stacked in a field.
    main = page.split("<main", 1)[1]
    if re.search(r'<input(?![^>]*type="hidden")', main):
        assert 'class="field' in main


@pytest.mark.parametrize(
    "name",
    [
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_reset_password_done",
        "account_email_verification_sent",
        "account_inactive",
    ],
)
def test_anonymous_account_pages_render_in_the_design(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_in_the_design(response.content.decode())


@pytest.mark.parametrize(
    "name",
    [
        "account_email",
        "account_change_password",
        "account_reauthenticate",
        "account_logout",
        "mfa_index",
        "mfa_activate_totp",
        "mfa_add_webauthn",
        "usersessions_list",
    ],
)
def test_signed_in_account_pages_render_in_the_design(client, name):
    response = recently_logged_in(client).get(reverse(name))
    assert response.status_code == 200
    assert_in_the_design(response.content.decode())


def test_a_used_reset_link_says_so_and_offers_a_new_one(client):
    response = client.get(
        reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "not-a-key"})
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "This link does not work any more" in page
    assert reverse("account_reset_password") in page


def test_an_expired_confirmation_link_says_so(client):
    response = client.get(reverse("account_confirm_email", kwargs={"key": "no-such-key"}))
    page = response.content.decode()
    assert "This confirmation link has expired or is not valid." in page
    assert_in_the_design(page)


def test_a_field_error_is_tied_to_its_field(client):
    response = client.post(reverse("account_reset_password"), {"email": "not an address"})
    page = response.content.decode()
    assert 'aria-invalid="true"' in page
    assert 'aria-describedby="id_email-error"' in page
    assert '<ul class="errorlist" id="id_email-error">' in page

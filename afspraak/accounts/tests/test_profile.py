"""The name others see: asked at sign-up, changed on the profile page, given to old accounts."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from afspraak.accounts.models import User
from afspraak.inputs.names import NAME_HAS_BIDI_CONTROLS
from afspraak.testing.audit import assert_audited, events
from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "copper kites hum above frozen orchards"


def sign_up(client, **fields):
    data = {"email": "hanna@example.test", "password1": PASSWORD, "password2": PASSWORD}
    return client.post(reverse("account_signup"), data | fields)


def test_sign_up_keeps_the_name(client):
    response = sign_up(client, full_name="  Hanna de Vries ")
    assert response.status_code == 302
    assert User.objects.get(email="hanna@example.test").full_name == "Hanna de Vries"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "This field is required."),
        ("   ", "This field is required."),
        ("x" * 101, "Ensure this value has at most 100 characters (it has 101)."),
        ("Hanna\u202egnp.exe", NAME_HAS_BIDI_CONTROLS),
        ("Hanna\nBcc: someone", "Write the name on one line"),
    ],
)
def test_sign_up_refuses_a_missing_or_unreadable_name(client, name, message):
    response = sign_up(client, full_name=name)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["full_name"])
    assert not User.objects.filter(email="hanna@example.test").exists()


def test_the_name_is_asked_first_on_the_sign_up_page(client):
    page = client.get(reverse("account_signup")).content.decode()
    assert page.index('name="full_name"') < page.index('name="email"')
    assert 'autocomplete="name"' in page


def test_the_profile_page_shows_the_name_and_the_login(client):
    user = UserFactory.create(full_name="Hanna de Vries")
    client.force_login(user)
    page = client.get(reverse("account_profile")).content.decode()
    assert 'value="Hanna de Vries"' in page
    assert f"You log in as {user.email}." in page


def test_changing_the_name_is_saved_and_audited(client):
    user = UserFactory.create(full_name="Hanna Jansen")
    client.force_login(user)
    response = client.post(reverse("account_profile"), {"full_name": "Hanna de Vries"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_profile")
    user.refresh_from_db()
    assert user.full_name == "Hanna de Vries"
    event = assert_audited("accounts.profile.updated", actor=user, data={"fields": ["full_name"]})
    # Which field changed, never the name itself.
    assert "Hanna" not in str(event.data)
    assert "Your name is saved." in client.get(reverse("account_profile")).content.decode()


def test_saving_the_same_name_changes_and_records_nothing(client):
    user = UserFactory.create(full_name="Hanna de Vries")
    client.force_login(user)
    client.post(reverse("account_profile"), {"full_name": "Hanna de Vries"})
    assert events("accounts.profile.updated") == []


@pytest.mark.parametrize("name", ["", "x" * 101, "Hanna\u2066", "a\x00b"])
def test_a_bad_name_is_refused_with_400_and_kept_unchanged(client, name):
    user = UserFactory.create(full_name="Hanna de Vries")
    client.force_login(user)
    response = client.post(reverse("account_profile"), {"full_name": name})
    assert response.status_code == 400
    assert response.context["form"].errors["full_name"]
    user.refresh_from_db()
    assert user.full_name == "Hanna de Vries"
    assert events("accounts.profile.updated") == []


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.post(reverse("account_profile"), {"full_name": "Mallory"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_users_and_shortens_names_before_narrowing_the_column():
    before = ("accounts", "0002_seal_mfa_secrets_to_their_user")
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    try:
        OldUser = executor.loader.project_state([before]).apps.get_model("accounts", "User")  # noqa: N806
        nameless = OldUser.objects.create(email="hanna.host@example.test", full_name="")
        blank = OldUser.objects.create(email="blank@example.test", full_name="  ")
        long = OldUser.objects.create(email="long@example.test", full_name="y" * 150)
        named = OldUser.objects.create(email="ada@example.test", full_name="Ada Lovelace")
    finally:
        # Up to the newest migration: later tests expect every column.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("accounts"))

    names = dict(User.objects.values_list("pk", "full_name"))
    assert names[nameless.pk] == "hanna.host"
    assert names[blank.pk] == "blank"
    assert names[long.pk] == "y" * 100
    assert names[named.pk] == "Ada Lovelace"

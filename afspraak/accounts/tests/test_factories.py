import pytest

from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_factory_user_can_log_in_with_the_default_password(client):
    user = UserFactory()

    response = client.post("/accounts/login/", {"login": user.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert client.get("/").context["user"] == user

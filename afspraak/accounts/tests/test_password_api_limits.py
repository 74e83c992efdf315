"""The password endpoints take JSON within limits: deep or huge bodies are a 400, not a crash."""

import pytest

from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

URLS = ["/api/v1/account/password/check", "/api/v1/account/password"]


@pytest.fixture
def signed_in(client):
    client.force_login(
        UserFactory.create(), backend="allauth.account.auth_backends.AuthenticationBackend"
    )
    return client


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("[" * 50_000 + "]" * 50_000, "nests deeper than"),
        ('{"password": ' + "9" * 5_000 + "}", "at most 20 digits"),
        ('{"password": "' + "x" * 300_000 + '"}', "larger than"),
    ],
)
def test_oversized_or_deep_json_is_a_clear_400(signed_in, url, body, reason):
    response = signed_in.post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert reason in response.json()["detail"]


@pytest.mark.parametrize("url", URLS)
def test_a_form_encoded_body_is_refused_as_unsupported(signed_in, url):
    response = signed_in.post(url, {"password": "x"})
    assert response.status_code == 415

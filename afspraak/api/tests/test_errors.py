"""The API answers in JSON even when Django refuses the request's body."""

import pytest
from django.conf import settings

from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_body_over_djangos_limit_is_a_json_413(client):
    client.force_login(
        UserFactory.create(), backend="allauth.account.auth_backends.AuthenticationBackend"
    )
    body = '{"password": "' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'

    response = client.post("/api/v1/account/password/check", body, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "The request body is too large: at most 256 KiB."}

from unittest import mock

from django.db import OperationalError
from django.urls import reverse


def test_health_check_answers_ok_when_the_database_answers(client, db):
    response = client.get(reverse("healthz"), secure=True)

    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_health_check_answers_503_when_the_database_does_not(client, db):
    with mock.patch("django.db.backends.utils.CursorWrapper.execute") as execute:
        execute.side_effect = OperationalError("connection refused")
        response = client.get(reverse("healthz"), secure=True)

    assert response.status_code == 503
    assert response.content == b"database unreachable\n"


def test_health_check_takes_only_get(client, db):
    assert client.post(reverse("healthz"), secure=True).status_code == 405

"""Each request gets an id of its own, in its answer and in its audit events."""

import re

import pytest

from afspraak.testing.audit import only_event
from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_every_answer_carries_a_fresh_request_id(client):
    first, second = client.get("/"), client.get("/")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_audit_events_of_a_request_carry_its_id_not_one_the_client_sent(client):
    user = UserFactory.create()

    response = client.post(
        "/accounts/login/",
        {"login": user.email, "password": "not the password"},
        HTTP_X_REQUEST_ID="f" * 32,
    )

    event = only_event("accounts.login.failed")
    assert event.request_id == response["X-Request-ID"]
    assert event.request_id != "f" * 32


def test_a_user_agent_with_a_nul_byte_is_recorded_without_it(client):
    user = UserFactory.create()

    response = client.post(
        "/accounts/login/",
        {"login": user.email, "password": "not the password"},
        HTTP_USER_AGENT="Mozilla\x00/5.0",
    )

    assert response.status_code == 200
    assert only_event("accounts.login.failed").user_agent == "Mozilla/5.0"

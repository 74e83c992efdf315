"""Malformed organization-page input is a form error (400), never a crash."""

import pytest

from afspraak.inputs.names import NAME_HAS_BIDI_CONTROLS
from afspraak.tenancy.models import Organization


@pytest.mark.parametrize("field", ["since", "until"])
def test_a_day_at_the_end_of_the_calendar_is_a_filter_error(client, tenants, field):
    client.force_login(tenants.auditor.user)
    response = client.get("/o/alpha/audit/", {field: "9999-12-31"})
    assert response.status_code == 400
    assert "Give a day before the year 9999." in response.content.decode()


def test_the_last_day_the_calendar_can_follow_still_filters(client, tenants):
    client.force_login(tenants.auditor.user)
    assert client.get("/o/alpha/audit/", {"until": "9998-12-31"}).status_code == 200


def test_an_organization_name_with_a_direction_override_is_a_form_error(client, tenants):
    client.force_login(tenants.owner.user)
    response = client.post("/organizations/new/", {"name": "Delta\u202eatled", "slug": "delta"})
    assert response.status_code == 400
    assert NAME_HAS_BIDI_CONTROLS in response.content.decode()
    assert not Organization.objects.filter(slug="delta").exists()


def test_an_organization_name_with_a_joiner_is_accepted(client, tenants):
    client.force_login(tenants.owner.user)
    response = client.post("/organizations/new/", {"name": "گفت\u200cوگو", "slug": "delta"})
    assert response.status_code == 302
    assert Organization.objects.get(slug="delta").name == "گفت\u200cوگو"

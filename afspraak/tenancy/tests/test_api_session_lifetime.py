"""The API honours an organization's session lifetime exactly as its pages do."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from afspraak.tenancy.models import Organization
from afspraak.testing.audit import only_event


def test_api_refuses_a_session_older_than_the_organization_allows(client, tenants):
    client.force_login(tenants.admin.user)
    assert client.get("/api/v1/organizations/alpha/members").status_code == 200
    Organization.objects.filter(pk=tenants.a.pk).update(session_max_age_hours=1)

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        response = client.get("/api/v1/organizations/alpha/members")

    assert response.status_code == 403
    assert "log in again" in response.json()["detail"]
    event = only_event("tenancy.access.denied")
    assert event.data == {
        "reason": "session_lifetime",
        "organization": tenants.a.public_id,
        "permission": "can_view_members",
    }

"""The console lists open alerts and incidents for staff who used their second factor."""

import pytest
from django.urls import reverse

from afspraak.audit.models import Alert, AlertStatus
from afspraak.security.tests.reviewers import reviewer_client
from afspraak.security.tests.url_matrix import an_alert, an_incident
from afspraak.testing.audit import assert_audited

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    return reviewer_client(client)


def test_console_lists_open_alerts_and_incidents_in_few_queries(
    staff_client, tenants, django_assert_max_num_queries
):
    alerts = [an_alert(tenants)[0]["alert_id"] for _ in range(5)]
    incident = an_incident(tenants)[0]["incident_id"]
    Alert.objects.filter(public_id=alerts[0]).update(status=AlertStatus.CLOSED)

    # Five of them ask the staff records whether the reviewer is in good standing.
    with django_assert_max_num_queries(17):
        response = staff_client.get(reverse("security:console"))

    page = response.content.decode()
    assert response.status_code == 200
    assert alerts[0] not in page
    assert all(alert_id in page for alert_id in alerts[1:])
    assert incident in page


def test_acknowledging_from_the_console(staff_client, tenants):
    alert_id = an_alert(tenants)[0]["alert_id"]

    response = staff_client.post(reverse("security:alert_acknowledge", args=[alert_id]))

    assert response.status_code == 302
    assert Alert.objects.get(public_id=alert_id).status == AlertStatus.ACKNOWLEDGED
    assert_audited("audit.alert.acknowledged", actor=staff_client.staff)


def test_closing_without_a_reason_is_a_400_and_changes_nothing(staff_client, tenants):
    alert_id = an_alert(tenants)[0]["alert_id"]

    response = staff_client.post(reverse("security:alert_close", args=[alert_id]), {"reason": ""})

    assert response.status_code == 400
    assert Alert.objects.get(public_id=alert_id).status == AlertStatus.OPEN


def test_an_unknown_alert_is_a_404(staff_client):
    response = staff_client.post(reverse("security:alert_acknowledge", args=["alr_nothing"]))

    assert response.status_code == 404

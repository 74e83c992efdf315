"""The audit log exports as CSV or JSON exactly what the page filters, and the export is audited."""

import csv
import io
import json

import pytest
from django.conf import settings

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert
from afspraak.audit.outbox import deliver_due
from afspraak.audit.trail import record
from afspraak.testing.audit import assert_audited, assert_not_audited

pytestmark = pytest.mark.django_db

EXPORT = "/o/alpha/audit/export/"


@pytest.fixture
def some_events(tenants):
    admin = AuditContext(
        actor=tenants.admin.user, ip_address="192.0.2.7", user_agent="=HYPERLINK()"
    )
    record(
        "tenancy.member.role_changed", context=admin, organization=tenants.a, data={"to": "member"}
    )
    record("accounts.login.succeeded", context=admin, organization=tenants.a)
    record("accounts.login.succeeded", actor=tenants.outsider.user, organization=tenants.b)


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_csv_export_holds_the_organizations_events_and_is_audited(client, tenants, some_events):
    client.force_login(tenants.auditor.user)

    response = client.get(EXPORT, {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-alpha-')
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert [row["action"] for row in rows] == [
        "accounts.login.succeeded",
        "tenancy.member.role_changed",
    ]
    assert rows[0]["actor_email"] == "admin@a.test"
    assert rows[0]["category"] == "authentication"
    # A spreadsheet must not run what an attacker put in their User-Agent.
    assert rows[0]["user_agent"] == "'=HYPERLINK()"
    assert json.loads(rows[1]["data"]) == {"to": "member"}
    assert_audited(
        "tenancy.audit_log.exported",
        actor=tenants.auditor.user,
        organization=tenants.a,
        data={"format": "csv", "rows": 2, "filters": {}},
    )


def test_json_export_is_filtered_like_the_page(client, tenants, some_events):
    client.force_login(tenants.owner.user)

    response = client.get(EXPORT, {"format": "json", "category": "membership"})

    assert response["Content-Type"] == "application/json; charset=utf-8"
    [row] = json.loads(body(response))
    assert row["action"] == "tenancy.member.role_changed"
    assert row["data"] == {"to": "member"}
    page = client.get("/o/alpha/audit/", {"category": "membership"}).content.decode()
    assert "tenancy.member.role_changed" in page
    assert "accounts.login.succeeded" not in page
    assert_audited(
        "tenancy.audit_log.exported", data={"rows": 1, "filters": {"category": "membership"}}
    )


def test_a_bad_format_or_filter_is_a_400_and_nothing_is_exported(client, tenants, some_events):
    client.force_login(tenants.owner.user)

    for bad in ({"format": "xlsx"}, {"format": "csv", "category": "everything"}):
        response = client.get(EXPORT, bad)
        assert response.status_code == 400
        assert "Choose the format csv or json" in response.content.decode()
    assert_not_audited("tenancy.audit_log.exported")


def test_repeated_exports_raise_the_mass_export_alert(client, tenants, some_events):
    client.force_login(tenants.auditor.user)

    for _ in range(settings.AFSPRAAK_DETECT_EXPORTS):
        body(client.get(EXPORT, {"format": "json"}))
    while deliver_due():
        pass

    [alert] = Alert.objects.filter(rule_id="afspraak-mass-export")
    assert alert.subject == f"actor:{tenants.auditor.user.public_id}"
    assert alert.organization_public_id == tenants.a.public_id
    assert len(alert.evidence) == settings.AFSPRAAK_DETECT_EXPORTS


def test_one_large_export_raises_the_mass_export_alert(client, tenants, some_events, settings):
    settings.AFSPRAAK_DETECT_EXPORT_ROWS = 2
    client.force_login(tenants.auditor.user)

    body(client.get(EXPORT, {"format": "csv", "category": "membership"}))  # one row: quiet
    while deliver_due():
        pass
    assert not Alert.objects.filter(rule_id="afspraak-mass-export").exists()

    body(client.get(EXPORT, {"format": "csv"}))  # two rows
    while deliver_due():
        pass

    assert Alert.objects.filter(rule_id="afspraak-mass-export").count() == 1

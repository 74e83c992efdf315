"""The audit log exports as CSV or JSON exactly what the page filters, and the export is audited."""

import csv
import io
import json

import pytest
from django.conf import settings
from django.urls import reverse

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert
from afspraak.audit.outbox import deliver_due
from afspraak.audit.trail import record
from afspraak.tenancy.access import AccessDeniedError, Refusal, access_for_api_token
from afspraak.tenancy.api_tokens import create_api_token
from afspraak.tenancy.audit_log import AuditFilters, export_audit_log
from afspraak.tenancy.models import ApiTokenScope
from afspraak.tenancy.roles import Permission
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited, assert_not_audited
from afspraak.testing.factories import DEFAULT_PASSWORD

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


def log_in(client, membership) -> None:
    """Log in and confirm the password, as an export asks."""
    client.force_login(membership.user)
    reauthenticate(client)


def test_an_export_without_a_recent_password_asks_for_it_then_downloads(
    client, tenants, some_events
):
    client.force_login(tenants.auditor.user)

    asked = client.get(EXPORT, {"format": "csv"})

    assert asked.status_code == 302
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    assert_not_audited("tenancy.audit_log.exported")
    assert_audited(
        "tenancy.access.denied",
        actor=tenants.auditor.user,
        data={"reason": "reauthentication_required", "permission": "can_view_audit_log"},
    )
    # allauth sends the person back to the export once the password is confirmed.
    confirmed = client.post(asked["Location"], {"password": DEFAULT_PASSWORD})
    assert confirmed.status_code == 302
    response = client.get(confirmed["Location"])
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    exported = body(response)
    # The refused first try is in the organization's log, and so in the export.
    assert "tenancy.member.role_changed" in exported
    assert "tenancy.access.denied" in exported
    assert_audited("tenancy.audit_log.exported", data={"format": "csv", "rows": 3})


def test_the_page_offers_the_export_after_the_password_is_confirmed(client, tenants, some_events):
    client.force_login(tenants.auditor.user)
    page = "/o/alpha/audit/?category=membership"

    stale = client.get(page).content.decode()

    assert "Confirm it is you to export" in stale
    assert EXPORT not in stale
    confirm = reverse("account_reauthenticate") + "?next=%2Fo%2Falpha%2Faudit%2F%3Fcategory%3D"
    assert confirm in stale
    assert reauthenticate(client).status_code == 302
    fresh = client.get(page).content.decode()
    assert "Confirm it is you to export" not in fresh
    assert f"{EXPORT}?category=membership&amp;format=csv" in fresh


def test_an_api_token_never_exports_the_log(tenants, some_events):
    token, _ = create_api_token(
        member_access(tenants.auditor, reauthenticated=True), name="SIEM", scope=ApiTokenScope.READ
    )
    access = access_for_api_token(token, "alpha", Permission.VIEW_AUDIT_LOG, AuditContext())

    with pytest.raises(AccessDeniedError) as refused:
        export_audit_log(access, AuditFilters(), "json")

    assert refused.value.reason == Refusal.REAUTHENTICATION
    assert_not_audited("tenancy.audit_log.exported")


def test_csv_export_holds_the_organizations_events_and_is_audited(client, tenants, some_events):
    log_in(client, tenants.auditor)

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
    log_in(client, tenants.owner)

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
    log_in(client, tenants.owner)

    for bad in ({"format": "xlsx"}, {"format": "csv", "category": "everything"}):
        response = client.get(EXPORT, bad)
        assert response.status_code == 400
        assert "Choose the format csv or json" in response.content.decode()
    assert_not_audited("tenancy.audit_log.exported")


def test_repeated_exports_raise_the_mass_export_alert(client, tenants, some_events):
    log_in(client, tenants.auditor)

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
    log_in(client, tenants.auditor)

    body(client.get(EXPORT, {"format": "csv", "category": "membership"}))  # one row: quiet
    while deliver_due():
        pass
    assert not Alert.objects.filter(rule_id="afspraak-mass-export").exists()

    body(client.get(EXPORT, {"format": "csv"}))  # two rows
    while deliver_due():
        pass

    assert Alert.objects.filter(rule_id="afspraak-mass-export").count() == 1

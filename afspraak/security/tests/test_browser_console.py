"""The operator's security console in Chromium, at 1280 px and on a 390 px phone: the alerts
queue, an incident, and a containment action through its confirmation page; no horizontal
scrolling, no CSP violation or console error, axe clean; screenshots go to var/screenshots/."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert, AlertStatus
from afspraak.compliance.tests.staffing import staff_member
from afspraak.publicid import new_public_id
from afspraak.security.models import MemberSuspension
from afspraak.security.review import Reviewer, declare_incident, update_incident
from afspraak.security.tests.second_factor import give_second_factor
from afspraak.testing.browser import (
    DESKTOP,
    PHONE,
    assert_page_is_sound,
    second_factor_session_cookie,
    watch_console,
)
from afspraak.testing.factories import DEFAULT_PASSWORD
from afspraak.testing.tenants import create_tenants

pytestmark = pytest.mark.browser

# The longest values the queue shows, with nowhere to break: a source's IPv6 address, a
# chain break's detail.
IPV6_SOURCE = "source:2001:0db8:85a3:0000:0000:8a2e:0370:7334"
CHAIN_DETAIL = "event 48213: hmac mismatch (edited) " + "ab12" * 16


def _alert(rule_id: str, title: str, severity: str, subject: str, **fields) -> Alert:
    fields.setdefault("evidence", list(range(1, 13)))
    return Alert.objects.create(
        public_id=new_public_id("alr"),
        rule_id=rule_id,
        title=title,
        severity=severity,
        subject=subject,
        **fields,
    )


def _queue_and_incident(tenants, reviewer: Reviewer) -> str:
    """Fill the queue with alerts of every kind; return the incident declared from one."""
    _alert(
        "afspraak-credential-stuffing",
        "Credential stuffing from one address",
        "high",
        IPV6_SOURCE,
        firings=3,
    )
    _alert(
        "afspraak-audit-chain-break",
        "The audit chain is broken",
        "critical",
        "audit-chain",
        detail=CHAIN_DETAIL,
        evidence=[],
    )
    _alert(
        "afspraak-privilege-escalation",
        "Someone was made owner or admin",
        "medium",
        f"member:{tenants.member.user.public_id}",
        organization_public_id=tenants.a.public_id,
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=reviewer.user,
        acknowledged_at=timezone.now(),
        escalated_at=timezone.now(),
    )
    brute_force = _alert(
        "afspraak-brute-force-account",
        "Brute force on one account",
        "high",
        f"account:{tenants.member.user.public_id}",
        organization_public_id=tenants.a.public_id,
    )
    incident = declare_incident(
        reviewer,
        brute_force.public_id,
        severity="high",
        title="Password guessing against a member of Alpha, then a login from a new country",
    )
    update_incident(
        reviewer,
        incident.public_id,
        status="triaged",
        note="Twelve failures from one address in four minutes, then a success. "
        "The member confirms it was not them; their password was reused elsewhere.",
    )
    return incident.public_id


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_console_incident_and_containment_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    tenants = create_tenants()
    staff = staff_member(missing="mfa", email="an.incident.responder.on.call@operator.example.test")
    give_second_factor(staff)
    incident_id = _queue_and_incident(tenants, Reviewer(staff, AuditContext.system(staff)))
    width = viewport["width"]
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
    )
    try:
        context.add_cookies([second_factor_session_cookie(staff, https_live_server.url)])
        page = context.new_page()
        watch_console(page, browser_console)

        page.goto("/security/")
        main = page.locator("main")
        expect(main).to_contain_text("Credential stuffing from one address")
        expect(main).to_contain_text(CHAIN_DETAIL)
        expect(main).to_contain_text("acknowledged, escalated")
        expect(main).to_contain_text("Password guessing against a member of Alpha")
        assert_page_is_sound(page, "security-console")

        page.get_by_role("link", name="Password guessing against a member of Alpha").click()
        expect(page.locator("h1")).to_contain_text("Password guessing")
        expect(page.locator("main")).to_contain_text("The member confirms it was not them")
        assert_page_is_sound(page, "security-incident")

        # The organization comes from the alert; the reviewer names the account.
        expect(page.get_by_label("Organization (org_…)").nth(0)).to_have_value(tenants.a.public_id)
        page.locator("#suspend-user").fill(tenants.member.user.public_id)
        page.get_by_role("button", name="Suspend the member…").click()
        confirmation = page.locator("main")
        expect(page.locator("h1")).to_contain_text(
            f"Suspend {tenants.member.user.email} in {tenants.a.name}?"
        )
        expect(confirmation).to_contain_text("refuses them from their next request")
        assert_page_is_sound(page, "security-confirm-suspension")

        page.get_by_role("button", name="Suspend the member", exact=True).click()
        # Containment changes a customer's access: the reviewer confirms their password first,
        # and the suspension goes through right after.
        expect(page).to_have_url(re.compile(r"/accounts/reauthenticate/"))
        assert not MemberSuspension.objects.exists()
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        expect(page).to_have_url(f"{https_live_server.url}/security/incidents/{incident_id}/")
        suspensions = page.locator("table").filter(has_text="Since (UTC)")
        expect(suspensions).to_contain_text(tenants.member.user.email)
        expect(page.locator("main")).to_contain_text("Containment: suspended")
        assert_page_is_sound(page, "security-incident-contained")
    finally:
        context.close()

    assert MemberSuspension.objects.filter(
        organization=tenants.a, user=tenants.member.user, lifted_at__isnull=True
    ).exists(), f"the suspension was not made at {width} px"
    assert not browser_console, browser_console

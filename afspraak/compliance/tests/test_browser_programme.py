"""The programme pages (access reviews, and the public and staff pages of issue 14) in
Chromium at 1280 px and on a 390 px phone: they fit, are axe clean, break no CSP."""

from datetime import timedelta

import pytest
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.compliance.disclosure import submit_report
from afspraak.compliance.models import ReviewItemKind
from afspraak.compliance.pentests import record_engagement, record_finding
from afspraak.compliance.subprocessors import add_subprocessor
from afspraak.compliance.tests.reviewing import campaign, security_reviewer
from afspraak.compliance.tests.staffing import staff_member, visit_pages
from afspraak.tenancy.api_tokens import create_api_token
from afspraak.tenancy.models import ApiTokenScope
from afspraak.testing.access import member_access
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound
from afspraak.testing.tenants import create_tenants

pytestmark = pytest.mark.browser


def _pentest() -> None:
    engagement = record_engagement(
        AuditContext.system(),
        firm="Radically Open Security B.V.",
        performed_on=timezone.now().date() - timedelta(days=20),
        scope="The web application, its API and the booking pages, as owner, member and visitor",
        report_sha256="cd" * 32,
    )
    for severity in ("critical", "medium"):
        record_finding(
            AuditContext.system(),
            engagement,
            title=f"A {severity} finding with a long descriptive title about session handling",
            severity=severity,
        )


def _subprocessor() -> None:
    today = timezone.now().date()
    add_subprocessor(
        AuditContext.system(),
        name="Hetzner Online GmbH",
        purpose="Hosting the application and its database",
        data_categories="All customer data: accounts, organizations, bookings and invitees",
        location="Falkenstein, Germany (EU)",
        agreement_signed_on=today - timedelta(days=10),
        document_sha256="ab" * 32,
        effective_on=today + timedelta(days=40),
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_programme_pages_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    tenants = create_tenants()
    reviewer = security_reviewer()
    colleague = staff_member(email="a.colleague.with.a.rather.long.address@example.test")
    # A token with a long name: the review shortens it and says what it may do.
    create_api_token(
        member_access(tenants.auditor, reauthenticated=True),
        name="Nightly export of the audit log to the security team's archive",
        scope=ApiTokenScope.READ,
    )
    review = campaign()
    _subprocessor()
    _pentest()
    report = submit_report(
        AuditContext.system(),
        email="a.researcher.with.a.long.address@example.test",
        summary="Server-side request forgery in the avatar fetcher",
        details="1. Set the avatar URL to http://169.254.169.254/latest/meta-data/\n"
        + "2. "
        + "A" * 150,
    )
    admin_item = review.items.get(subject_public_id=tenants.admin.public_id)
    staff_item = review.items.get(kind=ReviewItemKind.STAFF, user=colleague)
    o = f"/o/{tenants.a.slug}"

    visit_pages(
        browser_page,
        https_live_server.url,
        viewport,
        browser_console,
        tenants.owner.user,
        {
            "access-review": f"{o}/access-review/",
            "confirm-revoke-review-item": f"{o}/access-review/{admin_item.public_id}/revoke/",
            "subprocessor-notices": f"{o}/subprocessors/",
        },
    )
    visit_pages(
        browser_page,
        https_live_server.url,
        viewport,
        browser_console,
        reviewer,
        {
            "staff-access-review": "/staff/access-review/",
            "staff-confirm-revoke": f"/staff/access-review/{staff_item.public_id}/revoke/",
            "staff-pentests": "/staff/pentests/",
            "staff-disclosures": "/staff/disclosures/",
            "staff-disclosure": f"/staff/disclosures/{report.public_id}/",
        },
    )
    visit_pages(
        browser_page,
        https_live_server.url,
        viewport,
        browser_console,
        None,
        {
            "subprocessors": "/subprocessors/",
            "disclosure": "/disclosure/",
            "disclosure-report": "/disclosure/report/",
            "trust": "/trust/",
        },
    )
    assert not browser_console, browser_console


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_oversized_report_gets_a_page_that_says_so(
    browser_page, browser_console, settings, viewport
):
    settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES = 1024
    browser_page.set_viewport_size(viewport)
    browser_page.goto("/disclosure/report/")
    browser_page.fill("[name=email]", "finder@example.test")
    browser_page.fill("[name=summary]", "A large proof of concept")
    browser_page.fill("[name=details]", "See the attachment")
    poc = {"name": "poc.bin", "mimeType": "application/octet-stream", "buffer": b"x" * 70_000}
    browser_page.set_input_files("[name=attachment]", files=[poc])

    with browser_page.expect_response(lambda r: r.request.method == "POST") as sent:
        browser_page.click("text=Send the report")

    assert sent.value.status == 413
    assert "at most 1 KiB" in browser_page.inner_text("main")
    assert_page_is_sound(browser_page, "disclosure-too-large")
    # Chromium reports the refused document's status; nothing else (no CSP violation).
    others = [line for line in browser_console if "status of 413" not in line]
    assert not others, browser_console

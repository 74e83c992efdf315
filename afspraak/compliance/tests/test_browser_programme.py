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
from afspraak.testing.browser import DESKTOP, PHONE
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

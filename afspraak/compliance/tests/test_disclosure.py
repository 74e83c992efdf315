"""Vulnerability disclosure (C2): security.txt parses and never expires, reports are stored
sealed, acknowledged through the outbox, rate-limited, size-limited, and triaged by staff."""

from datetime import datetime, timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import AuditEvent, OutboxMessage
from afspraak.compliance.disclosure import (
    TRIAGE_WITHIN_DAYS,
    change_report_state,
    read_attachment,
    submit_report,
    triage_overdue,
    unseal_report,
)
from afspraak.compliance.models import DisclosureReport, DisclosureState
from afspraak.compliance.tests.staffing import staff_member
from afspraak.errors import ConflictError, ForbiddenError
from afspraak.testing.audit import assert_audited
from afspraak.testing.logins import log_in_with_second_factor

MARKER = "MARKER-ssrf-in-avatar-fetch-7731"


def _fields(text: str) -> dict[str, list[str]]:
    """Parse security.txt as RFC 9116 reads it: ``Name: value`` lines, names case-blind."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, separator, value = line.partition(": ")
        assert separator, f"not a field line: {line!r}"
        fields.setdefault(name.lower(), []).append(value.strip())
    return fields


def test_security_txt_has_the_required_fields_and_never_expires(client, db, clock):
    for _ in range(2):
        response = client.get("/.well-known/security.txt")
        assert response.status_code == 200
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        fields = _fields(response.content.decode())
        assert fields["contact"][-1].endswith("/disclosure/report/")
        assert all(c.startswith(("https://", "mailto:")) for c in fields["contact"])
        assert len(fields["expires"]) == 1
        expires = datetime.strptime(fields["expires"][0], "%Y-%m-%dT%H:%M:%S%z")
        now = timezone.now()
        assert now < expires < now + timedelta(days=365)
        assert fields["policy"][0].endswith("/disclosure/")
        assert fields["preferred-languages"] == ["en, nl"]
        assert fields["canonical"][0].endswith("/.well-known/security.txt")
        # A year on, the file served then is still unexpired: it is written per request.
        clock.shift(timedelta(days=400))


@override_settings(AFSPRAAK_DISCLOSURE_EMAIL="security@afspraak.example")
def test_security_txt_names_the_disclosure_address_first(client, db):
    fields = _fields(client.get("/.well-known/security.txt").content.decode())
    assert fields["contact"][0] == "mailto:security@afspraak.example"


def test_old_address_redirects(client, db):
    response = client.get("/security.txt")
    assert response.status_code == 301
    assert response["Location"] == "/.well-known/security.txt"


def test_policy_page_states_the_response_times(client, db):
    page = client.get(reverse("compliance:disclosure")).content.decode()
    assert f"within {TRIAGE_WITHIN_DAYS} days" in page
    assert "7 days (critical)" in page


def test_report_is_stored_sealed_and_acknowledged(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("compliance:disclosure_report"),
            {
                "email": "finder@example.test",
                "summary": "SSRF",
                "details": MARKER,
                "attachment": SimpleUploadedFile("poc.txt", MARKER.encode()),
            },
        )
    assert response.status_code == 200
    report = DisclosureReport.objects.get()
    assert MARKER.encode() not in bytes(report.sealed)
    assert b"finder@example.test" not in bytes(report.sealed)
    contents = unseal_report(report)
    assert contents.details == MARKER
    assert contents.attachment == MARKER.encode()
    assert [m.to for m in mail.outbox] == [["finder@example.test"]]
    assert report.public_id in mail.outbox[0].subject
    assert "within 5 days" in mail.outbox[0].body
    assert_audited("compliance.disclosure.received", data={"attachment": True})
    # Nothing the reporter wrote is in the trail or the outbox.
    for row in [*AuditEvent.objects.values_list("data", flat=True)]:
        assert MARKER not in str(row)
        assert "finder@example.test" not in str(row)
    assert "finder@example.test" not in str(list(OutboxMessage.objects.values("payload")))


@override_settings(AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES=100)
def test_a_large_attachment_is_refused_while_it_is_received(client, db):
    response = client.post(
        reverse("compliance:disclosure_report"),
        {
            "email": "finder@example.test",
            "summary": "Big",
            "details": "See attachment",
            "attachment": SimpleUploadedFile("big.bin", b"x" * 101),
        },
    )
    # Within the body's limit (the fields' room), so the upload handler stops it.
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not DisclosureReport.objects.exists()


def test_reports_are_rate_limited(client, db, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "disclosure_report": "2/h/ip"}
    data = {"email": "a@example.test", "summary": "S", "details": "D"}
    statuses = [
        client.post(reverse("compliance:disclosure_report"), data).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    assert DisclosureReport.objects.count() == 2


def test_staff_triage_moves_forward_only_and_is_audited(db, clock):
    staff = staff_member()
    report = submit_report(AuditContext.system(), email="", summary="S", details="D")
    with pytest.raises(ForbiddenError):
        change_report_state(AuditContext(), report, DisclosureState.TRIAGING)
    clock.shift(timedelta(days=TRIAGE_WITHIN_DAYS, seconds=1))
    assert triage_overdue(report)
    report = change_report_state(AuditContext.system(staff), report, DisclosureState.TRIAGING)
    assert not triage_overdue(report)
    assert_audited(
        "compliance.disclosure.state_changed",
        actor=staff,
        data={"from": "received", "to": "triaging"},
    )
    with pytest.raises(ConflictError):
        change_report_state(AuditContext.system(staff), report, DisclosureState.FIXED)


def test_staff_pages_show_and_triage_a_report_recording_the_reading(client, db):
    staff = staff_member()
    report = submit_report(
        AuditContext.system(), email="finder@example.test", summary="Open redirect", details=MARKER
    )
    log_in_with_second_factor(client, staff)
    listing = client.get(reverse("compliance:staff_disclosures")).content.decode()
    assert report.public_id in listing
    assert MARKER not in listing
    url = reverse("compliance:staff_disclosure", args=[report.public_id])
    assert MARKER in client.get(url).content.decode()
    assert_audited("compliance.disclosure.viewed", actor=staff)
    assert client.post(url, {"state": "triaging"}).status_code == 302
    report.refresh_from_db()
    assert report.state == DisclosureState.TRIAGING


def test_staff_download_an_attachment_as_opaque_bytes_and_the_download_is_audited(client, db):
    staff = staff_member()
    exploit = b"<html><script>alert(document.cookie)</script></html>"
    report = submit_report(
        AuditContext.system(),
        email="finder@example.test",
        summary="Stored XSS",
        details="See the attachment",
        attachment_name='../"poc"\r\n.html',
        attachment=exploit,
    )
    url = reverse("compliance:staff_disclosure_attachment", args=[report.public_id])
    log_in_with_second_factor(client, staff)
    page = client.get(reverse("compliance:staff_disclosure", args=[report.public_id]))
    assert url in page.content.decode()

    response = client.get(url)
    assert response.status_code == 200
    assert response.content == exploit
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    # The reporter's name is reduced to plain characters: no path, quote or line break.
    assert response["Content-Disposition"] == (
        f'attachment; filename="{report.public_id}-poc_.html"'
    )
    assert "no-store" in response["Cache-Control"]
    assert_audited("compliance.disclosure.attachment_downloaded", actor=staff)


def test_an_attachment_is_for_staff_only_and_a_report_without_one_has_none(client, db):
    staff = staff_member()
    bare = submit_report(AuditContext.system(), email="", summary="CSRF", details="Steps")
    with pytest.raises(ForbiddenError):
        read_attachment(AuditContext.system(), bare)
    log_in_with_second_factor(client, staff)
    url = reverse("compliance:staff_disclosure_attachment", args=[bare.public_id])
    assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(
        action="compliance.disclosure.attachment_downloaded"
    ).exists()

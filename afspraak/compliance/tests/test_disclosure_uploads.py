"""An oversized vulnerability report is refused before its body is read (control C2)."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from afspraak.compliance.models import DisclosureReport
from afspraak.compliance.uploads import FORM_ROOM_BYTES
from conftest import HTTPSClient

pytestmark = pytest.mark.django_db

REPORT = "/disclosure/report/"


def report(attachment: bytes) -> dict:
    return {
        "email": "finder@example.test",
        "summary": "Big",
        "details": "See attachment",
        "attachment": SimpleUploadedFile("big.bin", attachment),
    }


def test_the_report_form_is_where_the_limit_applies():
    assert reverse("compliance:disclosure_report") == REPORT


def test_a_body_over_the_limit_is_refused_with_413_before_a_byte_is_read(client):
    limit = settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES
    oversized = b"x" * (limit + FORM_ROOM_BYTES + 1024 * 1024)

    response = client.post(REPORT, report(oversized))

    assert response.status_code == 413
    page = response.content.decode()
    assert f"at most {limit // 1024} KiB" in page
    assert "Back to the report form" in page
    assert int(response.wsgi_request.META["CONTENT_LENGTH"]) > len(oversized)
    # Neither the CSRF check nor the form parsed it: the body was never opened.
    assert response.wsgi_request._read_started is False
    assert not DisclosureReport.objects.exists()


def test_an_attachment_at_the_limit_is_accepted(client):
    limit = settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES

    response = client.post(REPORT, report(b"x" * limit))

    assert response.status_code == 200
    assert DisclosureReport.objects.get().has_attachment


def test_a_body_without_its_length_is_refused_with_411_unread(client):
    response = client.post(
        REPORT, report(b"x" * 10), CONTENT_LENGTH="", HTTP_TRANSFER_ENCODING="chunked"
    )

    assert response.status_code == 411
    assert "without its length" in response.content.decode()
    assert response.wsgi_request._read_started is False
    assert not DisclosureReport.objects.exists()


def test_the_form_still_checks_csrf_after_the_size(db):
    browser = HTTPSClient(enforce_csrf_checks=True)
    # A browser's form post over HTTPS names the page it came from.
    page = f"https://testserver{REPORT}"
    assert browser.get(REPORT).status_code == 200
    # The form's page sets the CSRF cookie, as under the middleware.
    token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    forged = browser.post(REPORT, report(b"poc"), HTTP_REFERER=page)
    sent = browser.post(REPORT, {**report(b"poc"), "csrfmiddlewaretoken": token}, HTTP_REFERER=page)

    assert forged.status_code == 403
    assert sent.status_code == 200
    assert DisclosureReport.objects.count() == 1

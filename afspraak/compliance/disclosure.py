"""Vulnerability disclosure (control C2): the policy's promises, security.txt, and reports.

A report from the public is stored sealed (AES-256-GCM under the master keyset, bound to
the report's public id, as MFA secrets are): the reporter's address, summary, details and
attachment never reach the database in the clear, the audit trail or the outbox. The
acknowledgement e-mail leaves through the outbox naming the report only. Staff move a
report through its triage states; each change is audited.
"""

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from afspraak.accounts.middleware import is_staff_account
from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.compliance.models import DisclosureReport, DisclosureState
from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master
from afspraak.errors import ConflictError, DomainError, ForbiddenError, NotFoundError

ACKNOWLEDGE_TOPIC = "compliance.disclosure_acknowledgement"
# What the policy promises (shown on /disclosure/ and in the acknowledgement).
ACKNOWLEDGE_WITHIN = "at once, by an automatic e-mail"
TRIAGE_WITHIN_DAYS = 5
UPDATE_EVERY_DAYS = 14
FIX_WITHIN_DAYS = {"critical": 7, "high": 30, "medium": 90, "low": 180}
# security.txt expires this long after it is served: always ahead, and under a year.
SECURITY_TXT_LIFETIME = timedelta(days=90)
PREFERRED_LANGUAGES = "en, nl"
REPORT_NOT_FOUND = "No such report."
# Which state may follow which: triage first, then a verdict, and a fix for accepted ones.
TRANSITIONS = {
    DisclosureState.RECEIVED: {DisclosureState.TRIAGING, DisclosureState.REJECTED},
    DisclosureState.TRIAGING: {DisclosureState.ACCEPTED, DisclosureState.REJECTED},
    DisclosureState.ACCEPTED: {DisclosureState.FIXED},
    DisclosureState.REJECTED: set(),
    DisclosureState.FIXED: set(),
}


@dataclass(frozen=True)
class ReportContents:
    """What the reporter wrote, as unsealed for staff."""

    email: str
    summary: str
    details: str
    attachment_name: str
    attachment: bytes


def _associated_data(public_id: str) -> bytes:
    return f"afspraak.disclosure-report:{public_id}".encode()


def _seal(public_id: str, contents: ReportContents) -> bytes:
    body = {
        "email": contents.email,
        "summary": contents.summary,
        "details": contents.details,
        "attachment_name": contents.attachment_name,
        "attachment": base64.b64encode(contents.attachment).decode(),
    }
    return encrypt_with_master(json.dumps(body).encode(), _associated_data(public_id))


def unseal_report(report: DisclosureReport) -> ReportContents:
    """Return what the reporter wrote (decrypting the report; a tampered one raises)."""
    body = json.loads(decrypt_with_master(bytes(report.sealed), _associated_data(report.public_id)))
    return ReportContents(
        email=body["email"],
        summary=body["summary"],
        details=body["details"],
        attachment_name=body["attachment_name"],
        attachment=base64.b64decode(body["attachment"]),
    )


def submit_report(
    context: AuditContext,
    *,
    email: str,
    summary: str,
    details: str,
    attachment_name: str = "",
    attachment: bytes = b"",
) -> DisclosureReport:
    """Store a vulnerability report sealed and queue its acknowledgement e-mail."""
    if not summary.strip() or not details.strip():
        raise DomainError("Describe the vulnerability: a summary and the details.")
    if len(attachment) > settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES:
        raise DomainError(
            "The attachment is too large: at most "
            f"{settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES // 1024} KiB."
        )
    report = DisclosureReport(has_attachment=bool(attachment))
    report.sealed = _seal(
        report.public_id,
        ReportContents(
            email=email.strip(),
            summary=summary.strip(),
            details=details.strip(),
            attachment_name=attachment_name if attachment else "",
            attachment=attachment,
        ),
    )
    with transaction.atomic():
        report.save()
        enqueue(ACKNOWLEDGE_TOPIC, {"report": report.pk})
        record(
            "compliance.disclosure.received",
            context=context,
            target=report,
            data={"report": report.public_id, "attachment": report.has_attachment},
        )
    return report


def _require_staff(context: AuditContext) -> None:
    if context.actor is None or not is_staff_account(context.actor):
        raise ForbiddenError("Vulnerability reports are for the operator's staff only.")


def get_report(public_id: str) -> DisclosureReport:
    """Return the report ``public_id``, or 404."""
    report = DisclosureReport.objects.filter(public_id=public_id).first()
    if report is None:
        raise NotFoundError(REPORT_NOT_FOUND)
    return report


def read_report(context: AuditContext, report: DisclosureReport) -> ReportContents:
    """Unseal a report for a staff member, recording that they read it."""
    _require_staff(context)
    contents = unseal_report(report)
    record(
        "compliance.disclosure.viewed",
        context=context,
        target=report,
        data={"report": report.public_id},
    )
    return contents


def read_attachment(context: AuditContext, report: DisclosureReport) -> tuple[str, bytes]:
    """Unseal a report's attachment for a staff member to download, recording the download."""
    _require_staff(context)
    if not report.has_attachment:
        raise NotFoundError("This report has no attachment.")
    contents = unseal_report(report)
    record(
        "compliance.disclosure.attachment_downloaded",
        context=context,
        target=report,
        data={"report": report.public_id},
    )
    return safe_attachment_name(report, contents.attachment_name), contents.attachment


def safe_attachment_name(report: DisclosureReport, name: str) -> str:
    """Return a download file name that cannot break a header or name a hidden/path file."""
    # The reporter chose the name: keep only plain characters and prefix the report id,
    # so a name like "../x" or one with a quote or line break cannot do harm.
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip("._")[:100]
    return f"{report.public_id}-{cleaned or 'attachment'}"


def change_report_state(
    context: AuditContext, report: DisclosureReport, state: str
) -> DisclosureReport:
    """Move a report to its next triage state, as staff."""
    _require_staff(context)
    if state not in DisclosureState.values:
        raise DomainError(f"Unknown state {state!r}.")
    with transaction.atomic():
        locked = DisclosureReport.objects.select_for_update().get(pk=report.pk)
        allowed = TRANSITIONS[DisclosureState(locked.state)]
        if state not in allowed:
            raise ConflictError(
                f"A report {locked.get_state_display().lower()} cannot become {state}."
            )
        previous = locked.state
        locked.state = state
        locked.state_changed_at = timezone.now()
        locked.save(update_fields=["state", "state_changed_at"])
        record(
            "compliance.disclosure.state_changed",
            context=context,
            target=locked,
            data={"report": locked.public_id, "from": previous, "to": state},
        )
    return locked


def triage_overdue(report: DisclosureReport, now: datetime | None = None) -> bool:
    """Tell whether a report is still untriaged past the promised triage time."""
    moment = now or timezone.now()
    return (
        report.state == DisclosureState.RECEIVED
        and report.received_at + timedelta(days=TRIAGE_WITHIN_DAYS) < moment
    )


@handles(ACKNOWLEDGE_TOPIC)
def send_acknowledgement(message: OutboxMessage) -> None:
    """E-mail the reporter that their report arrived, with the response times promised."""
    report = DisclosureReport.objects.filter(pk=message.payload["report"]).first()
    if report is None:
        return
    contents = unseal_report(report)
    if not contents.email:
        return
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + f"We received your vulnerability report ({report.public_id})",
        message=render_to_string(
            "compliance/email/disclosure_acknowledgement.txt",
            {"report": report, **policy_promises()},
        ),
        from_email=None,
        recipient_list=[contents.email],
    )


def policy_promises() -> dict[str, Any]:
    """Return the response times the disclosure policy promises."""
    return {
        "acknowledge_within": ACKNOWLEDGE_WITHIN,
        "triage_within_days": TRIAGE_WITHIN_DAYS,
        "update_every_days": UPDATE_EVERY_DAYS,
        "fix_within_days": FIX_WITHIN_DAYS,
    }


def security_txt(now: datetime | None = None) -> str:
    """Return /.well-known/security.txt (RFC 9116), expiring SECURITY_TXT_LIFETIME from now."""
    moment = now or timezone.now()
    site = settings.SITE_URL
    contacts = []
    if settings.AFSPRAAK_DISCLOSURE_EMAIL:
        contacts.append(f"mailto:{settings.AFSPRAAK_DISCLOSURE_EMAIL}")
    contacts.append(site + reverse("compliance:disclosure_report"))
    expires = (moment + SECURITY_TXT_LIFETIME).replace(microsecond=0)
    lines = [f"Contact: {contact}" for contact in contacts]
    lines += [
        f"Expires: {expires.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"Policy: {site}{reverse('compliance:disclosure')}",
        f"Preferred-Languages: {PREFERRED_LANGUAGES}",
        f"Canonical: {site}{reverse('compliance:security_txt')}",
    ]
    return "\n".join(lines) + "\n"

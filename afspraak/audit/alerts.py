"""Alerts: what a detection rule's firing leaves for a reviewer, and who hears of it.

``raise_alert`` opens an ``Alert`` for a firing and e-mails it, through the outbox, to
the operator's security contacts (``AFSPRAAK_SECURITY_CONTACTS``) and, for an alert
about one organization, to that organization's owners and admins (the tenancy layer
tells who they are: ``provide_organization_contacts``). A later firing of the same rule
about the same subject joins the alert while it is not closed and was last seen within
``AFSPRAAK_ALERT_GROUP_HOURS``: its events are added to the evidence and nobody is
e-mailed again. Every change is audited.

An alert nobody acknowledged within its severity's review deadline (``REVIEW_DEADLINES``)
is overdue: ``overdue_alerts`` lists them (``afspraak alerts overdue``) and an hourly
job escalates each once, by e-mail to the security contacts.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert, AlertStatus, OutboxMessage, Severity
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.rules import Firing, Rule
from afspraak.audit.trail import record
from afspraak.publicid import new_public_id

logger = logging.getLogger("afspraak.audit.alerts")

NOTIFY_TOPIC = "audit.alert.notify"
ESCALATE_TOPIC = "audit.alert.escalate"
# An alert keeps this many evidence events (the newest); the count goes on in ``firings``
# and the trail keeps them all.
MAX_EVIDENCE = 200
# How long an alert may wait for a reviewer before it is escalated, by severity.
REVIEW_DEADLINES = {
    Severity.CRITICAL: timedelta(hours=1),
    Severity.HIGH: timedelta(hours=4),
    Severity.MEDIUM: timedelta(hours=24),
    Severity.LOW: timedelta(hours=72),
}
# Who is told of an alert: the operator's team, or the organization's owners and admins.
OPERATOR, ORGANIZATION = "operator", "organization"

_organization_contacts: list[Callable[[str], list[str]]] = []


def provide_organization_contacts(provider: Callable[[str], list[str]]) -> None:
    """Have ``provider(organization public id)`` name who hears of that organization's alerts."""
    _organization_contacts[:] = [provider]


def organization_contacts(organization_public_id: str) -> list[str]:
    """Return the addresses told of an organization's alerts (its owners and admins)."""
    if not _organization_contacts:
        # Fail loudly: an alert the organization must hear of is not silently dropped.
        raise RuntimeError("no provider of organization security contacts was registered")
    return _organization_contacts[0](organization_public_id)


def raise_alert(rule: "Rule", firing: Firing) -> Alert:
    """Open an alert for ``firing``, or add it to its rule's open alert about the same subject."""
    now = timezone.now()
    context = AuditContext.system()
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(
                rule_id=rule.id,
                subject=firing.subject,
                # Each organization hears of its own: the same person made admin in two
                # organizations is two alerts, one for each organization's owners.
                organization_public_id=firing.organization_public_id,
                last_seen_at__gte=now - timedelta(hours=settings.AFSPRAAK_ALERT_GROUP_HOURS),
            )
            .exclude(status=AlertStatus.CLOSED)
            .order_by("-raised_at")
            .first()
        )
        if alert is not None:
            _group(alert, firing, context)
            return alert
        alert = Alert.objects.create(
            public_id=new_public_id("alr"),
            rule_id=rule.id,
            title=rule.title,
            severity=firing.severity or rule.level,
            subject=firing.subject,
            organization_public_id=firing.organization_public_id,
            evidence=firing.evidence[-MAX_EVIDENCE:],
            detail=firing.detail,
            raised_at=now,
            last_seen_at=now,
        )
        record(
            "audit.alert.raised",
            context=context,
            target=alert,
            data=_alert_data(alert, events=len(firing.evidence)),
        )
        enqueue(NOTIFY_TOPIC, {"alert": alert.pk, "audience": OPERATOR})
        if alert.organization_public_id:
            enqueue(NOTIFY_TOPIC, {"alert": alert.pk, "audience": ORGANIZATION})
    return alert


def _group(alert: Alert, firing: Firing, context: AuditContext) -> None:
    """Add the firing's new events to ``alert``; a repeat with nothing new changes nothing."""
    known = set(alert.evidence)
    new = [event_id for event_id in firing.evidence if event_id not in known]
    if not new and firing.detail in ("", alert.detail):
        return
    alert.evidence = [*alert.evidence, *new][-MAX_EVIDENCE:]
    alert.detail = firing.detail or alert.detail
    alert.firings += 1
    alert.last_seen_at = timezone.now()
    alert.save(update_fields=["evidence", "detail", "firings", "last_seen_at"])
    record("audit.alert.grouped", context=context, target=alert, data=_alert_data(alert, len(new)))


def _alert_data(alert: Alert, events: int) -> dict[str, object]:
    return {
        "rule": alert.rule_id,
        "severity": alert.severity,
        "organization": alert.organization_public_id or None,
        "events": events,
    }


def review_deadline(alert: Alert) -> timedelta:
    """Return how long ``alert`` may stay unacknowledged."""
    return REVIEW_DEADLINES[Severity(alert.severity)]


def overdue_alerts() -> list[Alert]:
    """Return the open alerts nobody acknowledged within their deadline, oldest first."""
    now = timezone.now()
    open_alerts = Alert.objects.filter(status=AlertStatus.OPEN).order_by("raised_at", "id")
    return [alert for alert in open_alerts if alert.raised_at + review_deadline(alert) < now]


def escalate_overdue() -> list[Alert]:
    """Escalate each overdue alert once, by e-mail to the security contacts; return them."""
    escalated = []
    context = AuditContext.system()
    for alert in overdue_alerts():
        if alert.escalated_at is not None:
            continue
        with transaction.atomic():
            marked = Alert.objects.filter(
                pk=alert.pk, status=AlertStatus.OPEN, escalated_at__isnull=True
            ).update(escalated_at=timezone.now())
            if not marked:
                continue
            record(
                "audit.alert.escalated",
                context=context,
                target=alert,
                data=_alert_data(alert, len(alert.evidence)),
            )
            enqueue(ESCALATE_TOPIC, {"alert": alert.pk})
        escalated.append(alert)
    return escalated


@db_periodic_task(crontab(minute="41"))
def escalate_overdue_hourly() -> None:
    """Escalate overdue alerts every hour (a critical alert's deadline is one hour)."""
    escalate_overdue()


def _message_id(message: OutboxMessage) -> str:
    domain = urlsplit(settings.SITE_URL).hostname or "afspraak.invalid"
    return f"<security-alert-{message.pk}@{domain}>"


def _send(message: OutboxMessage, recipients: list[str], template: str, alert: Alert) -> None:
    context = {
        "alert": alert,
        "deadline": alert.raised_at + review_deadline(alert),
        "console_url": f"{settings.SITE_URL}/security/",
    }
    subject = render_to_string(f"security/{template}_subject.txt", context).strip()
    body = render_to_string(f"security/{template}.txt", context)
    email = EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        to=recipients,
        headers={"Message-ID": _message_id(message)},
    )
    email.send()


@handles(NOTIFY_TOPIC)
def send_alert_notification(message: OutboxMessage) -> None:
    """E-mail a new alert to the security contacts, or to its organization's owners and admins."""
    alert = Alert.objects.get(pk=message.payload["alert"])
    if message.payload["audience"] == ORGANIZATION:
        recipients = organization_contacts(alert.organization_public_id)
        template = "alert_organization_email"
    else:
        recipients = list(settings.AFSPRAAK_SECURITY_CONTACTS)
        template = "alert_email"
    if not recipients:
        logger.warning("alert %s has nobody to tell (%s)", alert.public_id, message.payload)
        return
    _send(message, recipients, template, alert)


@handles(ESCALATE_TOPIC)
def send_escalation(message: OutboxMessage) -> None:
    """E-mail the security contacts that an alert passed its review deadline unreviewed."""
    alert = Alert.objects.get(pk=message.payload["alert"])
    recipients = list(settings.AFSPRAAK_SECURITY_CONTACTS)
    if not recipients:
        logger.error("overdue alert %s: AFSPRAAK_SECURITY_CONTACTS is empty", alert.public_id)
        return
    _send(message, recipients, "alert_escalation_email", alert)

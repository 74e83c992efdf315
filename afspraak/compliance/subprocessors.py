"""The subprocessor register (control V1) and the notice to subscribed customers.

The operator adds a subprocessor with its purpose, data categories, location and the
date and hash of its signed agreement, effective at least ``NOTICE_DAYS`` from today.
Adding it queues, in the same transaction, one e-mail to each owner who subscribed for
their organization, so every subscriber hears of it at least 30 days before it takes
effect. The register is public at ``/subprocessors/``.
"""

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from afspraak.accounts.html_email import attach_html_part
from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.compliance.models import Subprocessor, SubprocessorSubscription
from afspraak.compliance.records import SHA256
from afspraak.errors import ConflictError, DomainError
from afspraak.tenancy.access import Access
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import Permission, Role

NOTICE_DAYS = 30
NOTICE_TOPIC = "compliance.subprocessor_notice"


def add_subprocessor(
    context: AuditContext,
    *,
    name: str,
    purpose: str,
    data_categories: str,
    location: str,
    agreement_signed_on: date,
    document_sha256: str,
    effective_on: date,
) -> Subprocessor:
    """Add a subprocessor to the register and notify every subscriber."""
    fields = {
        "name": name.strip(),
        "purpose": purpose.strip(),
        "data categories": data_categories.strip(),
        "location": location.strip(),
    }
    missing = [label for label, value in fields.items() if not value]
    if missing:
        raise DomainError(f"Say the subprocessor's {', '.join(missing)}.")
    digest = document_sha256.strip().lower()
    if not SHA256.fullmatch(digest):
        raise DomainError("The agreement's hash must be a SHA-256 digest: 64 hexadecimal digits.")
    today = timezone.now().date()
    if agreement_signed_on > today:
        raise DomainError("The agreement's signing date lies in the future.")
    earliest = today + timedelta(days=NOTICE_DAYS)
    if effective_on < earliest:
        raise DomainError(
            f"Customers are told {NOTICE_DAYS} days ahead: the effective date must be "
            f"{earliest.isoformat()} or later."
        )
    with transaction.atomic():
        subprocessor = Subprocessor.objects.create(
            name=fields["name"],
            purpose=fields["purpose"],
            data_categories=fields["data categories"],
            location=fields["location"],
            agreement_signed_on=agreement_signed_on,
            document_sha256=digest,
            effective_on=effective_on,
        )
        subscriptions = list(SubprocessorSubscription.objects.values_list("pk", flat=True))
        for subscription in subscriptions:
            enqueue(NOTICE_TOPIC, {"subprocessor": subprocessor.pk, "subscription": subscription})
        record(
            "compliance.subprocessor.added",
            context=context,
            target=subprocessor,
            data={
                "subprocessor": subprocessor.public_id,
                "effective_on": effective_on.isoformat(),
                "notices": len(subscriptions),
            },
        )
    return subprocessor


def public_register() -> QuerySet[Subprocessor]:
    """Return the register as published: every subprocessor, by effective date."""
    return Subprocessor.objects.order_by("effective_on", "name", "id")


def is_subscribed(access: Access) -> bool:
    """Tell whether the acting owner hears of new subprocessors for the organization."""
    access.require(Permission.MANAGE_OWNERS)
    return SubprocessorSubscription.objects.filter(
        organization=access.organization, user=access.context.actor
    ).exists()


def subscribe_to_subprocessors(access: Access) -> SubprocessorSubscription:
    """Have the acting owner e-mailed of every new subprocessor."""
    access.require(Permission.MANAGE_OWNERS)
    try:
        with transaction.atomic():
            subscription = SubprocessorSubscription.objects.create(
                organization=access.organization, user=access.context.actor
            )
            record(
                "compliance.subprocessor.subscribed",
                context=access.context,
                organization=access.organization,
                target=subscription,
            )
    except IntegrityError as error:
        raise ConflictError("You already hear of new subprocessors.") from error
    return subscription


def unsubscribe_from_subprocessors(access: Access) -> None:
    """Stop e-mailing the acting owner of new subprocessors."""
    access.require(Permission.MANAGE_OWNERS)
    with transaction.atomic():
        deleted, _ = SubprocessorSubscription.objects.filter(
            organization=access.organization, user=access.context.actor
        ).delete()
        if deleted:
            record(
                "compliance.subprocessor.unsubscribed",
                context=access.context,
                organization=access.organization,
            )


def _still_owner(subscription: SubprocessorSubscription) -> bool:
    with organization_context(subscription.organization):
        return Membership.objects.filter(user_id=subscription.user_id, role=Role.OWNER).exists()


@handles(NOTICE_TOPIC)
def send_subprocessor_notice(message: OutboxMessage) -> None:
    """E-mail one subscriber of a new subprocessor (skipped if they unsubscribed or left)."""
    subprocessor = Subprocessor.objects.filter(pk=message.payload["subprocessor"]).first()
    subscription: Any = (
        SubprocessorSubscription.objects.select_related("user", "organization")
        .filter(pk=message.payload["subscription"])
        .first()
    )
    if subprocessor is None or subscription is None or not subscription.user.is_active:
        return
    if not _still_owner(subscription):
        return
    title = f"New subprocessor from {subprocessor.effective_on:%d %B %Y}: {subprocessor.name}"
    register_url = settings.SITE_URL + reverse("compliance:subprocessors")
    email = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + title,
        body=render_to_string(
            "compliance/email/subprocessor_notice.txt",
            {
                "subprocessor": subprocessor,
                "organization": subscription.organization,
                "register_url": register_url,
            },
        ),
        to=[subscription.user.email],
    )
    attach_html_part(
        email,
        title=title,
        organization=subscription.organization,
        action_url=register_url,
        action_label="See the subprocessors",
    )
    email.send()

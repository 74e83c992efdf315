"""Support-access e-mails (control P2): approvers hear of a request, the requester of its end.

A request queues one message per approver in the request's transaction (its owners, or
every other staff member in good standing, as the organization chose; never the one who
asked); a decision or a revocation queues one for the requester. The handlers build and
send the mail after commit, from ids only.
"""

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from afspraak.accounts.models import User
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import enqueue_together, handles
from afspraak.compliance.models import Approver, GrantState, SupportGrant
from afspraak.compliance.standing import standing_refusal
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import Role

REQUESTED_TOPIC = "compliance.support_requested"
ENDED_TOPIC = "compliance.support_decided"
# What the requester is told, by the state the grant moved to.
OUTCOMES = {
    GrantState.APPROVED: "approved",
    GrantState.DENIED: "refused",
    GrantState.REVOKED: "ended",
}


def approvers_of(grant: SupportGrant) -> list[User]:
    """Return who may decide ``grant``: its organization's owners, or the other staff."""
    if grant.approver == Approver.OWNER:
        with organization_context(grant.organization):
            owner_ids = list(
                Membership.objects.filter(role=Role.OWNER).values_list("user_id", flat=True)
            )
        people = list(User.objects.filter(pk__in=owner_ids, is_active=True))
    else:
        staff = User.objects.filter(is_active=True).exclude(is_staff=False, is_superuser=False)
        # Only a colleague cleared to approve is asked (decide_support_grant_as_staff refuses
        # the others).
        people = [user for user in staff if standing_refusal(user) is None]
    return sorted((user for user in people if user.pk != grant.staff_id), key=lambda user: user.pk)


def queue_request_mails(grant: SupportGrant) -> None:
    """Queue, in the caller's transaction, the e-mail to each approver of ``grant``."""
    approvers = approvers_of(grant)
    if approvers:
        enqueue_together(
            [(REQUESTED_TOPIC, {"grant": grant.pk, "user": user.pk}) for user in approvers]
        )


def queue_outcome_mail(grant: SupportGrant, *, decided_by: Any) -> None:
    """Queue, in the caller's transaction, the e-mail telling the requester of ``grant``'s end."""
    if decided_by is not None and decided_by.pk == grant.staff_id:
        return  # They ended it themselves.
    enqueue_together([(ENDED_TOPIC, {"grant": grant.pk, "state": str(grant.state)})])


def _approval_url(grant: SupportGrant) -> str:
    if grant.approver == Approver.OWNER:
        path = reverse("compliance:support_requests", args=[grant.organization.slug])
        return f"{settings.SITE_URL}{path}#{grant.public_id}"
    return settings.SITE_URL + reverse("compliance:staff_support")


@handles(REQUESTED_TOPIC)
def send_request_mail(message: OutboxMessage) -> None:
    """E-mail one approver of a support request (skipped once it is decided)."""
    grant = (
        SupportGrant.objects.select_related("staff", "organization")
        .filter(pk=message.payload["grant"], state=GrantState.REQUESTED)
        .first()
    )
    user = User.objects.filter(pk=message.payload["user"], is_active=True).first()
    if grant is None or user is None:
        return
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + f"Support access to {grant.organization.name} asked by {grant.staff.email}",
        message=render_to_string(
            "compliance/email/support_requested.txt",
            {"user": user, "grant": grant, "approval_url": _approval_url(grant)},
        ),
        from_email=None,
        recipient_list=[user.email],
    )


@handles(ENDED_TOPIC)
def send_outcome_mail(message: OutboxMessage) -> None:
    """E-mail the requester that their support request was approved, refused or ended."""
    grant = (
        SupportGrant.objects.select_related("staff", "organization")
        .filter(pk=message.payload["grant"])
        .first()
    )
    if grant is None or not grant.staff.is_active:
        return
    outcome = OUTCOMES[GrantState(message.payload["state"])]
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + f"Support access to {grant.organization.name} {outcome}",
        message=render_to_string(
            "compliance/email/support_outcome.txt",
            {
                "grant": grant,
                "outcome": outcome,
                "support_url": settings.SITE_URL + reverse("compliance:staff_support"),
            },
        ),
        from_email=None,
        recipient_list=[grant.staff.email],
    )

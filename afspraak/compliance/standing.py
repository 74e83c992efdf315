"""Whether a staff member is in good standing, and the gate that keeps them out until they are.

A staff member reaches customer data only through a support grant (``support.py``), and
only while they have a signed confidentiality agreement (P1), have acknowledged the
current information-security policy (O4), hold a training completed within twelve
months (P2) and have a second factor (O2). The gate runs inside every ``require`` of a
staff access, so a lapse shuts the door on the next page, not at the next report.
"""

from datetime import date
from typing import Any

from django.utils import timezone

from afspraak.accounts.middleware import has_second_factor, is_staff_account
from afspraak.compliance.models import (
    ConfidentialityAgreement,
    PolicyAcknowledgement,
    PolicyVersion,
    SupportGrant,
    TrainingCompletion,
)
from afspraak.tenancy.access import Access, ActorKind
from afspraak.tenancy.roles import Permission

NOT_STAFF = "staff_not_staff"
AGREEMENT_MISSING = "staff_agreement_missing"
POLICY_NOT_ACKNOWLEDGED = "staff_policy_not_acknowledged"
TRAINING_MISSING = "staff_training_missing"
TRAINING_EXPIRED = "staff_training_expired"
MFA_MISSING = "staff_mfa_missing"
GRANT_ENDED = "support_grant_ended"

REFUSAL_MESSAGES = {
    NOT_STAFF: "Support access is for the operator's staff only.",
    AGREEMENT_MISSING: "No signed confidentiality agreement is on record for you.",
    POLICY_NOT_ACKNOWLEDGED: "Acknowledge the current information-security policy first.",
    TRAINING_MISSING: "No security and privacy training is on record for you.",
    TRAINING_EXPIRED: "Your security and privacy training has expired: complete it again.",
    MFA_MISSING: "Turn on two-factor authentication first.",
    GRANT_ENDED: "Your support access to this organization has ended.",
}


def latest_training(user: Any) -> TrainingCompletion | None:
    """Return ``user``'s most recent training completion, if any."""
    return (
        TrainingCompletion.objects.filter(user_id=user.pk).order_by("-completed_on", "-id").first()
    )


def standing_refusal(user: Any, today: date | None = None) -> str | None:
    """Return why ``user`` may not reach customer data as staff, or None if they may."""
    today = today or timezone.now().date()
    if not is_staff_account(user) or not user.is_active:
        return NOT_STAFF
    if not ConfidentialityAgreement.objects.filter(user_id=user.pk).exists():
        return AGREEMENT_MISSING
    policy = PolicyVersion.current()
    if (
        policy is None
        or not PolicyAcknowledgement.objects.filter(user_id=user.pk, policy=policy).exists()
    ):
        # Without a published policy there is nothing to acknowledge: fail closed.
        return POLICY_NOT_ACKNOWLEDGED
    training = latest_training(user)
    if training is None:
        return TRAINING_MISSING
    if training.expires_on <= today:
        return TRAINING_EXPIRED
    if not has_second_factor(user):
        return MFA_MISSING
    return None


def staff_gate(access: Access, permission: Permission) -> str | None:
    """Refuse a staff access whose person is not in good standing or whose grant ended."""
    if access.kind != ActorKind.STAFF:
        return None
    reason = standing_refusal(access.actor)
    if reason is not None:
        return reason
    grant = SupportGrant.objects.filter(
        public_id=access.support_grant_public_id, organization=access.organization
    ).first()
    if grant is None or grant.staff_id != access.actor.pk or not grant.is_active():
        return GRANT_ENDED
    return None

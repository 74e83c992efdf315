"""Containment from an incident: actions that stop the damage at once.

The procedure is in ``docs/security/incident-response.md``.

A reviewer (staff with a second factor, ``afspraak.security.review``) can, from an
open incident: end every session of an account, revoke a member's API tokens in an
organization (refused from their next call), suspend a member of an organization (the
suspension gate refuses their next request, tokens included), lift that suspension, and
rotate an organization's data and blind-index keys. Each action is a note on the
incident's timeline and an audit event, in the same transaction. Each changes a
customer's data or access, so each needs a reviewer in good standing who confirmed their
password lately, like an organization's own destructive changes (the page asks for it).
"""

from django.db import transaction
from django.utils import timezone

from afspraak.accounts.models import User
from afspraak.audit.models import Incident, IncidentNote, IncidentStatus, OutboxMessage
from afspraak.audit.outbox import enqueue, handles
from afspraak.audit.trail import record
from afspraak.crypto.keyset_rotation import rotate_index_key, rotate_organization_key
from afspraak.errors import ConflictError, DomainError, NotFoundError
from afspraak.security.models import MemberSuspension
from afspraak.security.review import Reviewer, require_reviewer
from afspraak.tenancy.access import access_for_system
from afspraak.tenancy.api_tokens import revoke_api_tokens_of
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.offboarding import end_user_sessions

ROTATE_KEYS_TOPIC = "security.keys.rotate"


def open_incident(public_id: str) -> Incident:
    """Return the incident, locked for the action; refuse a closed one."""
    incident = Incident.objects.select_for_update().filter(public_id=public_id).first()
    if incident is None:
        raise NotFoundError("No such incident.")
    if incident.status == IncidentStatus.CLOSED:
        raise ConflictError("This incident is closed: containment is over.")
    return incident


def account_named(user_public_id: str) -> User:
    """Return the account with this public id, or say clearly that there is none."""
    user = User.objects.filter(public_id=user_public_id.strip()).first() if user_public_id else None
    if user is None:
        raise DomainError("No account has that id (usr_…): copy it from the alert's subject.")
    return user


def organization_named(organization_public_id: str) -> Organization:
    """Return the organization with this public id, or say clearly that there is none."""
    organization = (
        Organization.objects.filter(public_id=organization_public_id.strip()).first()
        if organization_public_id
        else None
    )
    if organization is None:
        raise DomainError("No organization has that id (org_…).")
    return organization


def _note(reviewer: Reviewer, incident: Incident, text: str) -> None:
    IncidentNote.objects.create(
        incident=incident, author=reviewer.user, status=incident.status, text=text
    )


def end_account_sessions(reviewer: Reviewer, incident_id: str, user_public_id: str) -> int:
    """End every session of an account on every device; return how many ended."""
    require_reviewer(reviewer, reauthenticated=True)
    with transaction.atomic():
        incident = open_incident(incident_id)
        user = account_named(user_public_id)
        count = end_user_sessions(reviewer.context, user, trigger="incident")
        _note(reviewer, incident, f"Containment: ended {count} session(s) of {user.public_id}.")
        record(
            "security.containment.sessions_ended",
            context=reviewer.context,
            target=incident,
            data={"user": user.public_id, "count": count},
        )
    return count


def revoke_member_api_tokens(
    reviewer: Reviewer, incident_id: str, organization_public_id: str, user_public_id: str
) -> int:
    """Revoke every API token an account has in an organization; return how many."""
    require_reviewer(reviewer, reauthenticated=True)
    with transaction.atomic():
        incident = open_incident(incident_id)
        organization = organization_named(organization_public_id)
        user = account_named(user_public_id)
        # The operator acts for the organization: each revocation is audited in its log.
        access = access_for_system(organization, reviewer.context)
        count = revoke_api_tokens_of(access, user, trigger="incident")
        _note(
            reviewer,
            incident,
            f"Containment: revoked {count} API token(s) of {user.public_id} in "
            f"{organization.public_id}.",
        )
        record(
            "security.containment.api_tokens_revoked",
            context=reviewer.context,
            organization=organization,
            target=incident,
            data={"user": user.public_id, "count": count},
        )
    return count


def suspend_member(
    reviewer: Reviewer, incident_id: str, organization_public_id: str, user_public_id: str
) -> MemberSuspension:
    """Suspend a member of an organization: their every action there is refused until lifted."""
    require_reviewer(reviewer, reauthenticated=True)
    with transaction.atomic():
        incident = open_incident(incident_id)
        organization = organization_named(organization_public_id)
        user = account_named(user_public_id)
        with organization_context(organization):
            is_member = Membership.objects.filter(user=user).exists()
        if not is_member:
            raise DomainError("That account is not a member of that organization.")
        if MemberSuspension.objects.filter(
            organization=organization, user=user, lifted_at__isnull=True
        ).exists():
            raise ConflictError("That member is suspended already.")
        suspension = MemberSuspension.objects.create(
            organization=organization, user=user, incident=incident, suspended_by=reviewer.user
        )
        _note(
            reviewer,
            incident,
            f"Containment: suspended {user.public_id} in {organization.public_id} "
            f"({suspension.public_id}).",
        )
        record(
            "security.member.suspended",
            context=reviewer.context,
            organization=organization,
            target=incident,
            data={"user": user.public_id, "suspension": suspension.public_id},
        )
    return suspension


def lift_suspension(reviewer: Reviewer, incident_id: str, suspension_id: str) -> MemberSuspension:
    """Lift a member's suspension (the incident is recovered or it was a mistake)."""
    require_reviewer(reviewer, reauthenticated=True)
    with transaction.atomic():
        incident = open_incident(incident_id)
        suspension = (
            MemberSuspension.objects.select_for_update()
            .select_related("organization", "user")
            .filter(public_id=suspension_id, lifted_at__isnull=True)
            .first()
        )
        if suspension is None:
            raise NotFoundError("No such suspension in force.")
        suspension.lifted_at, suspension.lifted_by = timezone.now(), reviewer.user
        suspension.save(update_fields=["lifted_at", "lifted_by"])
        _note(reviewer, incident, f"Lifted suspension {suspension.public_id}.")
        record(
            "security.member.suspension_lifted",
            context=reviewer.context,
            organization=suspension.organization,
            target=incident,
            data={"user": suspension.user.public_id, "suspension": suspension.public_id},
        )
    return suspension


def rotate_organization_keys(
    reviewer: Reviewer, incident_id: str, organization_public_id: str
) -> None:
    """Rotate an organization's data and blind-index keys, right after this commits."""
    require_reviewer(reviewer, reauthenticated=True)
    with transaction.atomic():
        incident = open_incident(incident_id)
        organization = organization_named(organization_public_id)
        _note(
            reviewer,
            incident,
            f"Containment: rotation of {organization.public_id}'s keys requested.",
        )
        record(
            "security.keys.rotation_requested",
            context=reviewer.context,
            organization=organization,
            target=incident,
            data={"organization": organization.public_id},
        )
        # Off the request: a large organization's rows take long to re-seal. The rotation
        # is resumable, its start and end are audited by crypto, and one that does not
        # finish raises the key-rotation-failure alert.
        enqueue(ROTATE_KEYS_TOPIC, {"organization": organization.public_id})


@handles(ROTATE_KEYS_TOPIC)
def rotate_keys_now(message: OutboxMessage) -> None:
    """Rotate the organization's data key, then its blind-index key (each resumes if cut)."""
    organization = Organization.objects.filter(public_id=message.payload["organization"]).first()
    if organization is None:
        return  # deleted since: its keys are destroyed already
    rotate_organization_key(organization)
    rotate_index_key(organization)

"""Creating organizations, changing their security settings and deleting them."""

from collections import Counter
from graphlib import TopologicalSorter

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, models, transaction

from afspraak.audit.context import AuditContext
from afspraak.audit.deletions import DeletedKind, note_deletion
from afspraak.audit.trail import record
from afspraak.crypto.keysets import create_organization_keysets, forget
from afspraak.tenancy.access import Access
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import RuleViolationError, TenancyError
from afspraak.tenancy.models import SESSION_MAX_AGE_HOURS_LIMIT, Membership, Organization
from afspraak.tenancy.roles import Permission, Role

_SLUG_MAX_LENGTH = Organization._meta.get_field("slug").max_length or 60
_NAME_MAX_LENGTH = Organization._meta.get_field("name").max_length or 120
# Booking pages live at /<organization slug>/…, beside the site's own top-level paths.
RESERVED_SLUGS = frozenset(
    {"accounts", "admin", "api", "b", "invitations", "o", "organizations", "static", "media"}
    | {"robots.txt", "favicon.ico", "well-known", "healthz", "security", "trust", "status"}
    | {"staff", "subprocessors", "disclosure", "security.txt", "o-brand"}
)


def create_organization(context: AuditContext, *, name: str, slug: str) -> Organization:
    """Create an organization with the context's user as its owner, and its encryption keysets."""
    actor = context.actor
    name, slug = name.strip(), slug.strip().lower()
    if not name or len(name) > _NAME_MAX_LENGTH:
        raise TenancyError(
            f"Give the organization a name of at most {_NAME_MAX_LENGTH} characters."
        )
    try:
        validate_slug(slug)
    except ValidationError:
        raise TenancyError(
            "The web address may hold only lower-case letters, digits, hyphens and underscores."
        ) from None
    if len(slug) > _SLUG_MAX_LENGTH:
        raise TenancyError(f"The web address may be at most {_SLUG_MAX_LENGTH} characters long.")
    taken = RuleViolationError("This web address is taken; choose another.")
    if slug in RESERVED_SLUGS or Organization.objects.filter(slug=slug).exists():
        raise taken
    try:
        with transaction.atomic():
            organization = Organization.objects.create(name=name, slug=slug)
            with organization_context(organization, user=actor):
                owner = Membership.objects.create(
                    organization=organization, user=actor, role=Role.OWNER
                )
                create_organization_keysets(organization)
                record(
                    "tenancy.organization.created",
                    context=context,
                    organization=organization,
                    target=organization,
                    data={"owner_membership": owner.public_id},
                )
    except IntegrityError:
        # Another request took the same address between the check and the insert.
        raise taken from None
    return organization


def update_security_settings(
    access: Access, *, require_mfa: bool, session_max_age_hours: int | None
) -> Organization:
    """Change whether members must use MFA and how long their sessions may last."""
    if session_max_age_hours is not None and not (
        1 <= session_max_age_hours <= SESSION_MAX_AGE_HOURS_LIMIT
    ):
        raise TenancyError(
            f"The session lifetime must be between 1 and {SESSION_MAX_AGE_HOURS_LIMIT} hours."
        )
    access.require(Permission.MANAGE_SECURITY, reauthenticated=True)
    organization = access.organization
    with access.scope():
        locked = Organization.objects.select_for_update().get(pk=organization.pk)
        # An operator's command has no account here to lock out; a person does.
        lockout = access.actor is not None and not access.actor.has_mfa()
        if require_mfa and not locked.require_mfa and lockout:
            raise RuleViolationError(
                "Turn on two-factor authentication for your own account first: "
                "requiring it would otherwise lock you out."
            )
        changed = []
        if locked.require_mfa != require_mfa:
            changed.append("require_mfa")
        if locked.session_max_age_hours != session_max_age_hours:
            changed.append("session_max_age_hours")
        if not changed:
            return locked
        locked.require_mfa = require_mfa
        locked.session_max_age_hours = session_max_age_hours
        locked.save(update_fields=changed)
        record(
            "tenancy.security.updated",
            context=access.context,
            organization=locked,
            target=locked,
            data={
                "changed": changed,
                "require_mfa": require_mfa,
                "session_max_age_hours": session_max_age_hours,
            },
        )
    organization.require_mfa = locked.require_mfa
    organization.session_max_age_hours = locked.session_max_age_hours
    return locked


def organization_rows_in_deletion_order() -> list[tuple[type[models.Model], str]]:
    """Return (model, field) for each kind of row an organization owns, referrers first."""
    # Read from the models, so rows of apps above tenancy (schedules, bookings …) and of
    # apps added later are found without tenancy importing them. Some of their foreign
    # keys are PROTECT on purpose (a host must not delete a meeting type that has
    # bookings), which makes one cascade from the organization refuse: deleting each
    # kind before the kinds it refers to satisfies those rules instead of weakening them.
    owned = {
        relation.related_model: relation.field.name
        for relation in Organization._meta.related_objects
        if relation.on_delete is models.CASCADE
    }
    order: TopologicalSorter[type[models.Model]] = TopologicalSorter()
    for model in sorted(owned, key=lambda model: model._meta.label):
        order.add(model)
        for field in model._meta.concrete_fields:
            referred = field.related_model
            if field.is_relation and referred in owned and referred is not model:
                # ``referred`` goes after ``model``, which points at it.
                order.add(referred, model)
    return [(model, owned[model]) for model in order.static_order()]


def deletion_summary(organization: Organization) -> list[tuple[str, int]]:
    """Return what deleting ``organization`` would delete: (kind of row, count), by kind."""
    # Call it inside the organization's context: on PostgreSQL row-level security hides
    # the rows otherwise. Every customer-owned model has its organization foreign key
    # (DESIGN, D3), so counting by it is exact; a test keeps it so.
    counts = {str(Organization._meta.verbose_name_plural): 1}
    for model, field in organization_rows_in_deletion_order():
        name = str(model._meta.verbose_name_plural)
        counts[name] = counts.get(name, 0) + (
            model._base_manager.filter(**{field: organization}).count()
        )
    return sorted((name, count) for name, count in counts.items() if count)


def delete_organization(access: Access, *, confirmation_slug: str) -> dict[str, int]:
    """Delete an organization with all its rows and keysets; return the rows deleted per model.

    Deleting the keysets is crypto-shredding: a ciphertext of this organization kept
    anywhere without its keyset can no longer be decrypted by anyone. Database backups
    hold the keysets too (wrapped), so the organization's data in them stays readable
    until the backups taken before the deletion have expired (control D5) or the master
    key that wrapped those keysets is retired.
    """
    access.require(Permission.DELETE_ORGANIZATION, reauthenticated=True)
    organization = access.organization
    with access.scope():
        if confirmation_slug.strip() != organization.slug:
            raise TenancyError(
                f"Type the organization's web address, {organization.slug}, exactly to confirm."
            )
        # Locking the row makes two owners deleting at once take turns; the second finds
        # nothing. On PostgreSQL the cascade must run in this context: the tenant rows
        # are under forced row-level security and would otherwise be invisible to it.
        locked = Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if locked is None:
            raise RuleViolationError("This organization has already been deleted.")
        # Kind by kind, referrers first (bookings before their meeting types and
        # invitees …), each with its own cascade; a row this context cannot see would fail
        # a foreign key and roll everything back.
        deleted: Counter[str] = Counter()
        for model, field in organization_rows_in_deletion_order():
            deleted.update(model._base_manager.filter(**{field: locked}).delete()[1])
        deleted.update(locked.delete()[1])
        deleted = +deleted
        # ``organization`` still holds the id (``locked`` lost it on delete): the audit
        # event keeps it, as audit events have no database constraint.
        record(
            "tenancy.organization.deleted",
            context=access.context,
            organization=organization,
            target=organization,
            data={
                "organization": organization.public_id,
                "deleted": dict(sorted(deleted.items())),
            },
        )
        note_deletion(
            DeletedKind.ORGANIZATION,
            organization_public_id=organization.public_id,
            subject_ids=[organization.public_id],
            context=access.context,
        )
        organization_id = organization.pk
        # Forget at once for this thread and again after commit, so no request that read
        # the keysets before the commit leaves them in this process's cache.
        forget(organization_id)
        transaction.on_commit(lambda: forget(organization_id))
    return dict(deleted)

"""Organizations (the tenants), who belongs to them, and who is invited to join."""

from collections.abc import Iterable
from functools import partial
from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from afspraak.crypto.fields import (
    BlindIndexField,
    EncryptedEmailField,
    EncryptedModel,
    blind_index_of,
)
from afspraak.publicid import new_public_id
from afspraak.tenancy.roles import Permission, Role

# An organization may shorten the platform's session lifetime down to one hour, never
# lengthen it beyond two weeks (the platform's own absolute maximum by default).
SESSION_MAX_AGE_HOURS_LIMIT = 14 * 24


class Organization(models.Model):
    """A customer: every piece of customer data belongs to exactly one organization."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "org")
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    require_mfa = models.BooleanField(default=False)
    session_max_age_hours = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(SESSION_MAX_AGE_HOURS_LIMIT)],
        help_text="Members' sessions end this many hours after login; empty: the platform's.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Branding (afspraak.tenancy.branding): empty means the design system's own.
    accent_colour = models.CharField(max_length=7, blank=True, default="", db_default="")
    # The logo's bytes live in OrganizationLogo, not loaded with every request's organization.
    logo_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    # Sites that may frame the public booking pages, one https origin a line
    # (afspraak.tenancy.embedding); empty: none may.
    embed_origins = models.TextField(blank=True, default="", db_default="")

    def __str__(self) -> str:
        return self.name


class OrganizationLogo(models.Model):
    """The organization's logo image, checked by ``afspraak.tenancy.branding.inspect_logo``."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    content_type = models.CharField(max_length=16)
    data = models.BinaryField()

    objects: ClassVar[models.Manager["OrganizationLogo"]] = ScopedManager(
        organization="organization"
    )

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["organization"], name="tenancy_organization_one_logo")
        ]

    def __str__(self) -> str:
        return f"logo of {self.organization_id}"


class Membership(models.Model):
    """A user's place in an organization, with exactly one role."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "mem")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["Membership"]] = ScopedManager(organization="organization")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="tenancy_membership_one_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    REVOKED = "revoked", "Revoked"
    DECLINED = "declined", "Declined"
    EXPIRED = "expired", "Expired"


class Invitation(EncryptedModel):
    """An offer to join an organization with a role, sent to one e-mail address.

    The address is personal data of someone who is not a member yet: it is kept only
    encrypted under the organization's data key, with a blind index for finding the
    invitations sent to an address (``addressed_to``). Only the SHA-256 hash of the
    link's token is kept, so a copy of the database cannot be turned into working links.
    """

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "inv")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = EncryptedEmailField()
    email_index = BlindIndexField(source="email", normalizer="email")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set when the invited person says no: the link stops working and the inviter sees it.
    declined_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager["Invitation"]] = ScopedManager(organization="organization")

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "token_hash"], name="tenancy_invitation_token_unique"
            )
        ]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["organization", "email_index"], name="tenancy_invitation_email")
        ]

    def __str__(self) -> str:
        return f"invitation {self.public_id} to {self.organization_id} as {self.role}"

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return InvitationStatus.REVOKED
        if self.declined_at is not None:
            return InvitationStatus.DECLINED
        if self.accepted_at is not None:
            return InvitationStatus.ACCEPTED
        if self.expires_at <= timezone.now():
            return InvitationStatus.EXPIRED
        return InvitationStatus.PENDING

    @property
    def is_pending(self) -> bool:
        return self.status == InvitationStatus.PENDING


def addressed_to(organization: Organization, addresses: Iterable[str]) -> models.Q:
    """Return a filter for the organization's invitations sent to any of ``addresses``.

    Compares blind indexes (trimmed, lower-cased addresses), so it needs the organization's
    context on PostgreSQL, like any read of its keys.
    """
    index = blind_index_of(Invitation, "email_index")
    tokens = {index.index_for(organization.pk, address) for address in addresses}
    return models.Q(email_index__in=sorted(token for token in tokens if token is not None))


class ApiTokenScope(models.TextChoices):
    READ = "read", "Read only"
    ROLE = "role", "Everything your role allows"


class ApiToken(models.Model):
    """A member's personal access token for the API, in one organization (control O1).

    Only an HMAC-SHA256 of the secret is kept (``afspraak.tenancy.api_tokens``), with its
    first characters to recognise it by; the secret itself is shown once, at creation.
    The token never grants more than ``permissions`` (fixed at creation) nor more than
    its member's role at the time of each use.
    """

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "tok")
    )
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    scope = models.CharField(max_length=8, choices=ApiTokenScope.choices)
    # The permissions the token was given, space-separated, at most its member's role's.
    permissions = models.TextField()
    # The secret's first characters after ``afs_``: enough to recognise it, not to use it.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects: ClassVar[models.Manager["ApiToken"]] = ScopedManager(organization="organization")

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"API token {self.public_id} ({self.prefix}…) in {self.organization_id}"

    @property
    def granted_permissions(self) -> frozenset[Permission]:
        known = {permission.value: permission for permission in Permission}
        return frozenset(known[name] for name in self.permissions.split() if name in known)

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

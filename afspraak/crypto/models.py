"""Organization keysets (stored wrapped), key rotations in progress, and master key records.

These tables hold no customer data and no key in the clear: a keyset is stored
only encrypted under the master keyset. They are reached through
``afspraak.crypto.keysets`` by organization id (by requests for their own
organization, by the ``afspraak keys`` command for all), so they use a plain manager.
"""

import secrets
from typing import ClassVar

from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_revision() -> str:
    """Return a random revision tag: process caches compare it to notice a changed keyset."""
    return secrets.token_hex(8)


class KeysetPurpose(models.TextChoices):
    DATA = "data", "data encryption (AEAD AES256_GCM)"
    INDEX = "index", "blind index (PRF HMAC-SHA256)"


class OrganizationKeyset(models.Model):
    """One Tink keyset of an organization, encrypted under the master keyset."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="keysets"
    )
    purpose = models.CharField(max_length=16, choices=KeysetPurpose.choices)
    # Tink's encrypted-keyset JSON: the keyset encrypted under the master keyset with
    # the organization's public id and the purpose as associated data, plus its key ids.
    wrapped_keyset = models.TextField()
    master_key_id = models.CharField(max_length=300)
    revision = models.CharField(max_length=32, default=new_revision)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    rewrapped_at = models.DateTimeField(null=True, blank=True)

    tenant_scope_exempt_reason = (
        "read and written only by organization id in afspraak.crypto.keysets (at every "
        "decryption, whatever scope is active) and across organizations by `afspraak keys`; "
        "it holds keysets encrypted under the master key, no customer data"
    )

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "purpose"], name="crypto_keyset_one_per_purpose"
            )
        ]

    def __str__(self) -> str:
        return f"{self.purpose} keyset of organization {self.organization_id}"


class KeyRotation(models.Model):
    """A rotation of an organization's data or blind-index key: what it replaces, how far it got."""

    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    purpose = models.CharField(
        max_length=16, choices=KeysetPurpose.choices, default=KeysetPurpose.DATA
    )
    new_key_id = models.PositiveBigIntegerField()
    replaced_key_ids = models.JSONField(default=list)
    # model label -> the last primary key re-encrypted (or re-indexed), committed with each
    # batch; rows_reencrypted counts the rows whose indexes changed in an index rotation.
    progress = models.JSONField(default=dict)
    rows_reencrypted = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    tenant_scope_exempt_reason = (
        "written and read only by `afspraak keys rotate-org` and `keys status`; it holds "
        "key ids and progress counters, no customer data"
    )

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "purpose"],
                condition=Q(finished_at__isnull=True),
                name="crypto_rotation_one_unfinished",
            )
        ]

    def __str__(self) -> str:
        return f"rotation of organization {self.organization_id} to key {self.new_key_id}"


class MasterKeyRecord(models.Model):
    """When a master key was first used or added, and when it was retired (for key ages)."""

    key_id = models.CharField(max_length=300, unique=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"master key {self.key_id}"


class SystemSecret(models.Model):
    """A secret of the whole installation (the audit chain's key …), sealed by the master key.

    The plaintext never touches the database; the row is resealed when the master key
    rotates, and a master key is not retired while a secret is still sealed under it.
    """

    purpose = models.CharField(max_length=60, unique=True)
    sealed = models.BinaryField()
    master_key_id = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"system secret {self.purpose}"

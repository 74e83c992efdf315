"""Master key rotation, organization keyset creation and key status: ``afspraak keys``.

- Master rotation adds a new primary key to the master keyset and rewraps every
  organization keyset (and re-encrypts the MFA secrets, which the master keyset
  encrypts directly). No customer data is touched. The old master key stays until
  ``retire_master_key`` finds nothing using it.
- Organization rotation (data key and blind-index key) is one resumable mechanism,
  in ``afspraak.crypto.keyset_rotation``.

Every step checks that the master keyset can unwrap what it needs before writing
anything, and every rotation and retirement is audited with key ids only. Each
organization's rows are read and written inside that organization's context, so
row-level security shows all of them and only them.
"""

import base64
import binascii
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from afspraak.audit.trail import record
from afspraak.crypto import keysets
from afspraak.crypto.errors import MasterKeyError
from afspraak.crypto.fields import encrypted_models
from afspraak.crypto.keyring import (
    add_master_key,
    master_keyring,
    remove_master_key,
    tink_key_id,
)
from afspraak.crypto.keyset_rotation import sealed_under_other_keys
from afspraak.crypto.models import (
    KeyRotation,
    KeysetPurpose,
    MasterKeyRecord,
    OrganizationKeyset,
)
from afspraak.crypto.system_secrets import (
    check_system_secrets,
    reseal_system_secrets,
    system_secret_key_usage,
)
from afspraak.crypto.tenants import (
    Organization,
    organization_context,
    organizations,
    record_organization_event,
)

# The format of afspraak.accounts.mfa_secrets: "tink2:" + base64 of a master ciphertext.
_MFA_PREFIX = "tink2:"
_MFA_TYPES = ("totp", "recovery_codes")


class KeyInUseError(Exception):
    """A key cannot be retired: something is still encrypted under it."""


# --- MFA secrets (encrypted directly under the master keyset) ----------------------------------


def _mfa_master_key_id(value: str) -> str | None:
    try:
        key_id = tink_key_id(base64.b64decode(value.removeprefix(_MFA_PREFIX)))
    except (ValueError, binascii.Error):
        return None
    return None if key_id is None else str(key_id)


def _mfa_values(data: dict[str, Any]) -> Iterator[str]:
    for name in ("secret", "seed"):
        value = data.get(name)
        if isinstance(value, str) and value.startswith(_MFA_PREFIX):
            yield value
    for value in data.get("migrated_codes") or []:
        if isinstance(value, str) and value.startswith(_MFA_PREFIX):
            yield value


def _mfa_authenticators() -> models.QuerySet[Any]:
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(type__in=_MFA_TYPES)


def mfa_master_key_usage() -> Counter[str]:
    """Count the MFA secrets under each master key id."""
    usage: Counter[str] = Counter()
    for data in _mfa_authenticators().values_list("data", flat=True):
        for value in _mfa_values(data):
            usage[_mfa_master_key_id(value) or "unknown"] += 1
    return usage


def _reencrypted_mfa_data(data: dict[str, Any], primary: str) -> dict[str, Any] | None:
    from allauth.mfa.adapter import get_adapter

    adapter = get_adapter()

    def renew(value: Any) -> Any:
        if not isinstance(value, str) or not value.startswith(_MFA_PREFIX):
            return value
        if _mfa_master_key_id(value) == primary:
            return value
        return adapter.encrypt(adapter.decrypt(value))

    renewed = dict(data)
    for name in ("secret", "seed"):
        if name in renewed:
            renewed[name] = renew(renewed[name])
    if renewed.get("migrated_codes"):
        renewed["migrated_codes"] = [renew(code) for code in renewed["migrated_codes"]]
    return renewed if renewed != data else None


# --- Master key ---------------------------------------------------------------------------------


def _master_key_usage() -> Counter[str]:
    """Count the organization keysets wrapped by each master key id.

    Keysets are tenant rows: each organization's are counted inside its own context,
    so row-level security can never hide one from the count.
    """
    usage: Counter[str] = Counter()
    for organization in organizations():
        with organization_context(organization):
            usage.update(
                OrganizationKeyset.objects.filter(organization_id=organization.pk).values_list(
                    "master_key_id", flat=True
                )
            )
    return usage


@dataclass(frozen=True)
class MasterRotation:
    old_primary_key_id: str
    new_primary_key_id: str
    keysets_rewrapped: int
    mfa_authenticators_reencrypted: int


def _check_master_can_unwrap_everything() -> None:
    """Unwrap every keyset and decrypt every MFA secret once, so a wrong key stops us early."""
    from allauth.mfa.adapter import get_adapter

    for organization in organizations():
        with organization_context(organization):
            for keyset in OrganizationKeyset.objects.filter(organization_id=organization.pk):
                keysets.unwrap_keyset(keyset, organization.public_id)
    check_system_secrets()
    adapter = get_adapter()
    # Read through the model: a secret is bound to the user of the row it was read from.
    for authenticator in _mfa_authenticators().order_by("pk"):
        for value in _mfa_values(authenticator.data):
            adapter.decrypt(value)


def rewrap_organization_keysets(*, only_stale: bool) -> int:
    """Rewrap organization keysets under the master primary key (``only_stale``: those not yet)."""
    primary = master_keyring().primary_key_id
    count = 0
    for organization in organizations():
        with organization_context(organization):
            candidates = OrganizationKeyset.objects.select_for_update().filter(
                organization_id=organization.pk
            )
            if only_stale:
                candidates = candidates.exclude(master_key_id=primary)
            for keyset in candidates:
                handle = keysets.unwrap_keyset(keyset, organization.public_id)
                keysets.store_keyset(keyset, handle, organization.public_id)
                keyset.rewrapped_at = timezone.now()
                keyset.save(update_fields=["wrapped_keyset", "master_key_id", "rewrapped_at"])
                count += 1
    return count


def reencrypt_mfa_secrets() -> int:
    """Re-encrypt every MFA secret not yet under the master primary key; return how many rows."""
    primary = master_keyring().primary_key_id
    count = 0
    for authenticator_id in _mfa_authenticators().order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            authenticator = _mfa_authenticators().select_for_update().get(pk=authenticator_id)
            renewed = _reencrypted_mfa_data(authenticator.data, primary)
            if renewed is not None:
                authenticator.data = renewed
                authenticator.save(update_fields=["data"])
                count += 1
    return count


def rotate_master_key() -> MasterRotation:
    """Make a new master key primary and rewrap every keyset and MFA secret under it."""
    keyring = master_keyring()
    old_primary = keyring.primary_key_id
    _check_master_can_unwrap_everything()
    if keyring.can_rotate:
        new_primary = str(add_master_key(Path(settings.AFSPRAAK_MASTER_KEYSET_FILE)))
        keysets.note_master_key(new_primary)
    else:
        # A KMS key keeps its id and rotates its material inside the KMS: rewrapping
        # everything moves it all onto the newest material.
        new_primary = old_primary
    rewrapped = rewrap_organization_keysets(only_stale=keyring.can_rotate)
    mfa = reencrypt_mfa_secrets()
    with transaction.atomic():
        resealed = reseal_system_secrets()
    record(
        "crypto.master_key.rotated",
        actor=None,
        data={
            "old_primary_key_id": old_primary,
            "new_primary_key_id": new_primary,
            "keysets_rewrapped": rewrapped,
            "mfa_authenticators_reencrypted": mfa,
            "installation_keys_resealed": resealed,
        },
    )
    return MasterRotation(old_primary, new_primary, rewrapped, mfa)


def retire_master_key(key_id: str) -> None:
    """Remove master key ``key_id`` from the keyset, refusing while anything uses it."""
    keyring = master_keyring()
    if not keyring.can_rotate:
        raise MasterKeyError(
            f"the master key is {keyring.description}: the KMS keeps and retires its own "
            "key material, there is nothing to retire here"
        )
    if key_id not in keyring.key_ids:
        raise MasterKeyError(
            f"the master keyset ({keyring.description}) holds no key {key_id}; "
            f"its keys are {', '.join(keyring.key_ids)}",
            key_id=key_id,
        )
    if key_id == keyring.primary_key_id:
        raise KeyInUseError(f"master key {key_id} is the primary key: rotate it out first")
    wrapped = _master_key_usage()[key_id]
    mfa = mfa_master_key_usage()[key_id]
    system = system_secret_key_usage()[key_id]
    if wrapped or mfa or system:
        raise KeyInUseError(
            f"master key {key_id} still encrypts {wrapped} organization keyset(s), {mfa} "
            f"MFA secret(s) and {system} system secret(s): run `afspraak keys rotate-master` "
            "to completion first"
        )
    remove_master_key(Path(settings.AFSPRAAK_MASTER_KEYSET_FILE), int(key_id))
    MasterKeyRecord.objects.update_or_create(key_id=key_id, defaults={"retired_at": timezone.now()})
    record("crypto.master_key.retired", actor=None, data={"key_id": key_id})


# --- Organization keysets ---------------------------------------------------------------------


def initialize_organization_keysets(organization: Organization) -> bool:
    """Create the organization's missing keysets, audited (for organizations made before D1)."""
    with organization_context(organization):
        created = keysets.create_organization_keysets(organization)
    if created:
        record_organization_event(
            "crypto.org_keysets.created",
            organization,
            {"master_key_id": master_keyring().primary_key_id},
        )
    return created


# --- Status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterKeyStatus:
    key_id: str
    primary: bool
    first_seen_at: datetime | None
    keysets: int
    mfa_secrets: int


@dataclass(frozen=True)
class OrganizationKeyStatus:
    slug: str
    data_primary_key_id: int | None
    data_key_ids: list[int]
    index_key_ids: list[int]
    data_key_since: datetime | None
    master_key_ids: list[str]
    rotation_in_progress: bool
    index_rotation_in_progress: bool
    # Rows sealed under a data key other than the primary (counted only while there is one).
    rows_under_old_keys: int = 0


@dataclass
class KeyStatus:
    master_description: str
    master_error: str | None
    master_keys: list[MasterKeyStatus] = field(default_factory=list)
    organizations: list[OrganizationKeyStatus] = field(default_factory=list)
    organizations_without_keysets: list[str] = field(default_factory=list)


def _key_info(keyset: OrganizationKeyset) -> tuple[int | None, list[int]]:
    """Read the key ids Tink stores beside an encrypted keyset (no decryption needed)."""
    try:
        info = json.loads(keyset.wrapped_keyset)["keysetInfo"]
        return info.get("primaryKeyId"), sorted(key["keyId"] for key in info["keyInfo"])
    except (ValueError, KeyError, TypeError):
        return None, []


def key_status() -> KeyStatus:
    """Describe the master keys, each organization's keys, and who uses which master key."""
    try:
        keyring = master_keyring()
        status = KeyStatus(master_description=keyring.description, master_error=None)
        known_ids: tuple[str, ...] = keyring.key_ids
        primary: str | None = keyring.primary_key_id
    except MasterKeyError as error:
        status = KeyStatus(master_description="unavailable", master_error=str(error))
        known_ids, primary = (), None
    wrapped = _master_key_usage()
    mfa = mfa_master_key_usage()
    records = {r.key_id: r for r in MasterKeyRecord.objects.all()}
    for key_id in sorted({*known_ids, *wrapped}, key=lambda k: (k != primary, k)):
        record_ = records.get(key_id)
        status.master_keys.append(
            MasterKeyStatus(
                key_id=key_id,
                primary=key_id == primary,
                first_seen_at=record_.first_seen_at if record_ else None,
                keysets=wrapped[key_id],
                mfa_secrets=mfa[key_id],
            )
        )
    for organization in organizations(order_by="slug"):
        with organization_context(organization):
            by_purpose = {
                keyset.purpose: keyset
                for keyset in OrganizationKeyset.objects.filter(organization_id=organization.pk)
            }
            rotating = set(
                KeyRotation.objects.filter(
                    organization_id=organization.pk, finished_at__isnull=True
                ).values_list("purpose", flat=True)
            )
            data, index = by_purpose.get(KeysetPurpose.DATA), by_purpose.get(KeysetPurpose.INDEX)
            if data is None or index is None:
                status.organizations_without_keysets.append(organization.slug)
                continue
            data_primary, data_ids = _key_info(data)
            stale = 0
            if data_primary is not None and len(data_ids) > 1:
                stale = _count_stale_rows(organization, data_primary)
        status.organizations.append(
            OrganizationKeyStatus(
                slug=organization.slug,
                data_primary_key_id=data_primary,
                data_key_ids=data_ids,
                index_key_ids=_key_info(index)[1],
                data_key_since=data.rotated_at or data.created_at,
                master_key_ids=sorted({data.master_key_id, index.master_key_id}),
                rotation_in_progress=KeysetPurpose.DATA in rotating,
                index_rotation_in_progress=KeysetPurpose.INDEX in rotating,
                rows_under_old_keys=stale,
            )
        )
    return status


def _count_stale_rows(organization: Organization, primary_key_id: int) -> int:
    """Count the organization's rows sealed under a data key other than ``primary_key_id``."""
    stale = sealed_under_other_keys(primary_key_id)
    count = 0
    with scopes_disabled():
        for model, fields in encrypted_models():
            owner = f"{fields[0].context.organization_field}_id"
            count += model._base_manager.filter(stale, **{owner: organization.pk}).count()
    return count

"""Rotation of an organization's blind-index (PRF) key: the work behind ``keys rotate-index``.

A blind index is an HMAC of a normalised value under the organization's PRF key, so a
new key means recomputing every index from the decrypted source value:

1. Start (once, under a lock on the index keyset row): a new PRF key is made primary
   beside the old ones and a ``KeyRotation`` (purpose ``index``) records them. From
   then on every save computes indexes under the new key, and every lookup through
   ``BlindIndexField.index_for`` matches the index under any key still in the keyset,
   so rows not recomputed yet are still found.
2. Batches: the organization's rows of every model with a blind index, in primary-key
   order; each batch locks its rows, recomputes their indexes and commits together
   with the progress, so a rerun after a crash continues where it stopped.
3. Finish, in one transaction holding the index keyset row for update (which holds
   off the organization's writers): every row is checked once more (a writer may have
   put back an index computed before the rotation), and only then are the old keys
   removed from the keyset. After that no row can hold an index under them.

Each organization's rows are read and written inside its context, so row-level
security shows all of them and only them. Start and finish are audited with key ids
and counts only.
"""

from dataclasses import dataclass

from django.db import models
from django.utils import timezone

from afspraak.audit.trail import record
from afspraak.crypto import keysets
from afspraak.crypto.errors import MissingKeysetError
from afspraak.crypto.fields import BlindIndexField, blind_indexed_models
from afspraak.crypto.keyring import with_new_primary_key, without_keys
from afspraak.crypto.models import KeyRotation, KeysetPurpose, OrganizationKeyset, new_revision
from afspraak.crypto.rotation import locked_batch, run_batches
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class IndexRotation:
    new_key_id: int
    retired_key_ids: list[int]
    rows_reindexed: int
    resumed: bool


def _lock_index_keyset(organization: Organization) -> OrganizationKeyset:
    keyset = (
        OrganizationKeyset.objects.select_for_update()
        .filter(organization=organization, purpose=KeysetPurpose.INDEX)
        .first()
    )
    if keyset is None:
        raise MissingKeysetError(
            f"organization {organization.slug} has no blind-index keyset: "
            "create it with `afspraak keys init-org` first",
            organization_id=organization.pk,
            purpose=KeysetPurpose.INDEX,
        )
    return keyset


def _unfinished(organization: Organization) -> KeyRotation | None:
    return KeyRotation.objects.filter(
        organization=organization, purpose=KeysetPurpose.INDEX, finished_at__isnull=True
    ).first()


def _start_or_resume(organization: Organization) -> tuple[KeyRotation, bool]:
    with organization_context(organization):
        keyset = _lock_index_keyset(organization)
        unfinished = _unfinished(organization)
        if unfinished is not None:
            return unfinished, True
        handle = keysets.unwrap_keyset(keyset, organization.public_id)
        replaced = [key.key_id for key in handle.keyset_info().key_info]
        rotated, new_key_id = with_new_primary_key(handle, keysets.TEMPLATES[KeysetPurpose.INDEX])
        keysets.store_keyset(keyset, rotated, organization.public_id)
        keyset.revision = new_revision()
        keyset.rotated_at = timezone.now()
        keyset.save()
        rotation = KeyRotation.objects.create(
            organization=organization,
            purpose=KeysetPurpose.INDEX,
            new_key_id=new_key_id,
            replaced_key_ids=replaced,
        )
        record(
            "crypto.org_index_key.rotation_started",
            actor=None,
            organization=organization,
            target=organization,
            data={"new_key_id": new_key_id, "replaced_key_ids": replaced},
        )
    keysets.forget(organization.pk)
    return rotation, False


def _reindex_rows(
    rows: list[models.Model], fields: list[BlindIndexField], keys: keysets.OrganizationKeys
) -> int:
    """Recompute under the primary PRF key every index of ``rows`` that differs; count rows."""
    changed = 0
    for row in rows:
        updates = {}
        for index in fields:
            current = index.primary_index(row, keys)
            if row.__dict__.get(index.attname) != current:
                updates[index.attname] = current
        if updates:
            type(row)._base_manager.filter(pk=row.pk).update(**updates)
            changed += 1
    return changed


def reindex_batch(
    organization: Organization,
    model: type[models.Model],
    fields: list[BlindIndexField],
    after_pk: int,
    batch_size: int,
) -> tuple[int | None, int]:
    """Recompute the next batch of the organization's indexes; return the last pk, rows changed."""
    keys = keysets.keys_for_writing(organization.pk)
    rows = locked_batch(
        organization, model, fields[0].context.organization_field, after_pk, batch_size
    )
    if not rows:
        return None, 0
    return rows[-1].pk, _reindex_rows(rows, fields, keys)


def _finish(rotation: KeyRotation, resumed: bool, batch_size: int) -> IndexRotation:
    organization = rotation.organization
    with organization_context(organization):
        keyset = _lock_index_keyset(organization)
        keysets.forget(organization.pk)
        keys = keysets.keys_for_writing(organization.pk)
        primary = keys.index.primary_id()
        for model, fields in blind_indexed_models():
            after_pk: int | None = 0
            while after_pk is not None:
                after_pk, changed = reindex_batch(organization, model, fields, after_pk, batch_size)
                rotation.rows_reencrypted += changed
        retired = sorted(keys.index_key_ids - {primary})
        if retired:
            handle = keysets.unwrap_keyset(keyset, organization.public_id)
            keysets.store_keyset(keyset, without_keys(handle, set(retired)), organization.public_id)
            keyset.revision = new_revision()
            keyset.save()
        rotation.finished_at = timezone.now()
        rotation.save()
        record(
            "crypto.org_index_key.rotated",
            actor=None,
            organization=organization,
            target=organization,
            data={
                "new_key_id": primary,
                "retired_key_ids": retired,
                "rows_reindexed": rotation.rows_reencrypted,
                "resumed": resumed,
            },
        )
    keysets.forget(organization.pk)
    return IndexRotation(
        new_key_id=primary,
        retired_key_ids=retired,
        rows_reindexed=rotation.rows_reencrypted,
        resumed=resumed,
    )


def rotate_index_key(
    organization: Organization, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> IndexRotation:
    """Give the organization a new blind-index key, recompute its indexes, retire the old key."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    rotation, resumed = _start_or_resume(organization)
    for model, fields in blind_indexed_models():
        run_batches(rotation, model, fields, batch_size, reindex_batch)
    return _finish(rotation, resumed, batch_size)

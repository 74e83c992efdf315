"""Rotation of an organization's data key or blind-index key: one resumable mechanism.

``keys rotate-org`` and ``keys rotate-index`` run the same three steps; a
``RotatedKeyset`` says what differs (which keyset, which models, how a batch of rows is
renewed: re-sealed under the new data key or re-indexed under the new PRF key):

1. Start (once, under a lock on the keyset row): a new key is made primary beside the
   old ones and a ``KeyRotation`` records them. From then on every save writes under
   the new key, and reads and blind-index lookups still work under the old ones.
2. Batches: the organization's rows of every model concerned, in primary-key order;
   each batch locks its rows, renews those under an old key and commits together with
   the rotation's progress, so a rerun after a crash resumes after the last batch
   committed.
3. Finish, in one transaction holding the keyset row for update (which holds off the
   organization's writers, who share-lock it): every row that may still be under an
   old key is renewed once more (a process that had not seen the rotation may have
   written one), and only then are the old keys removed from the keyset. After that no
   row can use them.

Each organization's rows are read and written inside its context, so row-level
security shows all of them and only them. Start and finish are audited with key ids
and counts only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_scopes import scopes_disabled

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import key_id_of
from afspraak.crypto.errors import MissingKeysetError
from afspraak.crypto.fields import (
    SEALED,
    BlindIndexField,
    blind_indexed_models,
    encrypted_models,
    seal_row,
)
from afspraak.crypto.keyring import with_new_primary_key, without_keys
from afspraak.crypto.models import KeyRotation, KeysetPurpose, OrganizationKeyset, new_revision
from afspraak.crypto.tenants import Organization, organization_context, record_organization_event

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class RotatedKeyset:
    """What one kind of key rotation renews, and how."""

    purpose: str
    # As messages name the keyset ("data", "blind-index").
    name: str
    # Audit actions are ``<audit_prefix>.rotation_started`` and ``<audit_prefix>.rotated``.
    audit_prefix: str
    # The key of the finishing audit event's row count.
    rows_changed_name: str
    # Each model concerned, with its fields (encrypted fields, or blind indexes).
    tables: Callable[[], list[tuple[type[models.Model], list[Any]]]]
    # Write the rows of a locked batch again under the primary key; return how many changed.
    renew_rows: Callable[[list[models.Model], list[Any], keysets.OrganizationKeys], int]
    primary_key_id: Callable[[keysets.OrganizationKeys], int]
    key_ids: Callable[[keysets.OrganizationKeys], frozenset[int]]
    # The rows that may still be under an old key, as far as SQL can tell.
    maybe_stale: Callable[[keysets.OrganizationKeys], Q]


@dataclass(frozen=True)
class KeysetRotation:
    new_key_id: int
    retired_key_ids: list[int]
    rows_changed: int
    resumed: bool


# --- What each rotation renews ------------------------------------------------------------------


def sealed_under_other_keys(primary_key_id: int) -> Q:
    """Select the rows sealed under a data key other than ``primary_key_id``."""
    return ~Q(**{f"{SEALED}__sealed_with": primary_key_id}) & ~Q(**{SEALED: ""})


def _reseal_rows(
    rows: list[models.Model], fields: list[Any], keys: keysets.OrganizationKeys
) -> int:
    """Seal again under the primary data key every row of ``rows`` sealed under another key."""
    changed = 0
    for row in rows:
        stored = row.__dict__.get(SEALED)
        if stored and key_id_of(stored) != keys.data_primary_key_id:
            type(row)._base_manager.filter(pk=row.pk).update(**{SEALED: seal_row(row, keys)})
            changed += 1
    return changed


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


def _data_primary(keys: keysets.OrganizationKeys) -> int:
    return keys.data_primary_key_id


def _data_key_ids(keys: keysets.OrganizationKeys) -> frozenset[int]:
    return keys.data_key_ids


def _data_stale(keys: keysets.OrganizationKeys) -> Q:
    return sealed_under_other_keys(keys.data_primary_key_id)


def _index_primary(keys: keysets.OrganizationKeys) -> int:
    return int(keys.index.primary_id())


def _index_key_ids(keys: keysets.OrganizationKeys) -> frozenset[int]:
    return keys.index_key_ids


def _index_stale(keys: keysets.OrganizationKeys) -> Q:
    # An index does not tell which key computed it: every row is a candidate.
    return Q()


DATA_KEY = RotatedKeyset(
    purpose=KeysetPurpose.DATA,
    name="data",
    audit_prefix="crypto.org_key",
    rows_changed_name="rows_reencrypted",
    tables=cast(Callable[[], list[tuple[type[models.Model], list[Any]]]], encrypted_models),
    renew_rows=_reseal_rows,
    primary_key_id=_data_primary,
    key_ids=_data_key_ids,
    maybe_stale=_data_stale,
)

INDEX_KEY = RotatedKeyset(
    purpose=KeysetPurpose.INDEX,
    name="blind-index",
    audit_prefix="crypto.org_index_key",
    rows_changed_name="rows_reindexed",
    tables=cast(Callable[[], list[tuple[type[models.Model], list[Any]]]], blind_indexed_models),
    renew_rows=_reindex_rows,
    primary_key_id=_index_primary,
    key_ids=_index_key_ids,
    maybe_stale=_index_stale,
)


# --- The mechanism ------------------------------------------------------------------------------


def _lock_keyset(kind: RotatedKeyset, organization: Organization) -> OrganizationKeyset:
    keyset = (
        OrganizationKeyset.objects.select_for_update()
        .filter(organization_id=organization.pk, purpose=kind.purpose)
        .first()
    )
    if keyset is None:
        raise MissingKeysetError(
            f"organization {organization.slug} has no {kind.name} keyset: "
            "create it with `afspraak keys init-org` first",
            organization_id=organization.pk,
            purpose=kind.purpose,
        )
    return keyset


def _start_or_resume(kind: RotatedKeyset, organization: Organization) -> tuple[KeyRotation, bool]:
    with organization_context(organization):
        keyset = _lock_keyset(kind, organization)
        unfinished = KeyRotation.objects.filter(
            organization_id=organization.pk, purpose=kind.purpose, finished_at__isnull=True
        ).first()
        if unfinished is not None:
            return unfinished, True
        handle = keysets.unwrap_keyset(keyset, organization.public_id)
        replaced = [key.key_id for key in handle.keyset_info().key_info]
        rotated, new_key_id = with_new_primary_key(handle, keysets.TEMPLATES[kind.purpose])
        keysets.store_keyset(keyset, rotated, organization.public_id)
        keyset.revision = new_revision()
        keyset.rotated_at = timezone.now()
        keyset.save()
        rotation = KeyRotation.objects.create(
            organization_id=organization.pk,
            purpose=kind.purpose,
            new_key_id=new_key_id,
            replaced_key_ids=replaced,
        )
        record_organization_event(
            f"{kind.audit_prefix}.rotation_started",
            organization,
            {"new_key_id": new_key_id, "replaced_key_ids": replaced},
        )
    keysets.forget(organization.pk)
    return rotation, False


def locked_batch(
    organization: Organization,
    model: type[models.Model],
    organization_field: str,
    after_pk: int,
    batch_size: int,
    condition: Q,
) -> list[models.Model]:
    """Lock and return the organization's next rows of ``model`` after ``after_pk``."""
    owner = f"{organization_field}_id"
    # Rotations walk every model with encrypted data, whatever its scope dimension is
    # named; the explicit filter on the owning organization does the scope's work, and
    # the caller's organization context still applies row-level security underneath.
    with scopes_disabled():
        return list(
            model._default_manager.select_for_update()
            .filter(condition, **{owner: organization.pk}, pk__gt=after_pk)
            .order_by("pk")[:batch_size]
        )


def renew_batch(
    kind: RotatedKeyset,
    organization: Organization,
    model: type[models.Model],
    fields: list[Any],
    after_pk: int,
    batch_size: int,
) -> tuple[int | None, int]:
    """Renew the organization's next batch of rows; return the last pk (None: done) and changes."""
    keys = keysets.keys_for_writing(organization.pk)
    rows = locked_batch(
        organization,
        model,
        fields[0].context.organization_field,
        after_pk,
        batch_size,
        kind.maybe_stale(keys),
    )
    if not rows:
        return None, 0
    return rows[-1].pk, kind.renew_rows(rows, fields, keys)


def run_batches(
    kind: RotatedKeyset,
    rotation: KeyRotation,
    model: type[models.Model],
    fields: list[Any],
    batch_size: int,
) -> None:
    """Renew ``model``'s rows batch by batch, each committed with the rotation's progress.

    A rerun after a crash resumes after the last batch committed.
    """
    label = model._meta.label_lower
    organization = rotation.organization
    while True:
        with organization_context(organization):
            last_pk, changed = renew_batch(
                kind, organization, model, fields, rotation.progress.get(label, 0), batch_size
            )
            if last_pk is None:
                return
            rotation.progress[label] = last_pk
            rotation.rows_reencrypted += changed
            rotation.save(update_fields=["progress", "rows_reencrypted"])


def _finish(
    kind: RotatedKeyset, rotation: KeyRotation, resumed: bool, batch_size: int
) -> KeysetRotation:
    organization = rotation.organization
    with organization_context(organization):
        keyset = _lock_keyset(kind, organization)
        keysets.forget(organization.pk)
        keys = keysets.keys_for_writing(organization.pk)
        primary = kind.primary_key_id(keys)
        for model, fields in kind.tables():
            after_pk: int | None = 0
            while after_pk is not None:
                after_pk, changed = renew_batch(
                    kind, organization, model, fields, after_pk, batch_size
                )
                rotation.rows_reencrypted += changed
        retired = sorted(kind.key_ids(keys) - {primary})
        if retired:
            handle = keysets.unwrap_keyset(keyset, organization.public_id)
            keysets.store_keyset(keyset, without_keys(handle, set(retired)), organization.public_id)
            keyset.revision = new_revision()
            keyset.save()
        rotation.finished_at = timezone.now()
        rotation.save()
        record_organization_event(
            f"{kind.audit_prefix}.rotated",
            organization,
            {
                "new_key_id": primary,
                "retired_key_ids": retired,
                kind.rows_changed_name: rotation.rows_reencrypted,
                "resumed": resumed,
            },
        )
    keysets.forget(organization.pk)
    return KeysetRotation(
        new_key_id=primary,
        retired_key_ids=retired,
        rows_changed=rotation.rows_reencrypted,
        resumed=resumed,
    )


def rotate_keyset(
    kind: RotatedKeyset, organization: Organization, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> KeysetRotation:
    """Give the organization a new key of ``kind``, renew its rows, and retire the old keys."""
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    rotation, resumed = _start_or_resume(kind, organization)
    for model, fields in kind.tables():
        run_batches(kind, rotation, model, fields, batch_size)
    return _finish(kind, rotation, resumed, batch_size)


def rotate_organization_key(
    organization: Organization, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> KeysetRotation:
    """Give the organization a new data key, re-encrypt its rows, and retire the old key."""
    return rotate_keyset(DATA_KEY, organization, batch_size=batch_size)


def rotate_index_key(
    organization: Organization, *, batch_size: int = DEFAULT_BATCH_SIZE
) -> KeysetRotation:
    """Give the organization a new blind-index key, recompute its indexes, retire the old key."""
    return rotate_keyset(INDEX_KEY, organization, batch_size=batch_size)

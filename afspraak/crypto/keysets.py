"""Each organization's own keysets: created with it, stored wrapped, unwrapped into a cache.

An organization has a data keyset (AEAD AES256_GCM, output prefix TINK) for its
encrypted rows and an index keyset (PRF HMAC-SHA256) for its blind indexes. Both
live in ``OrganizationKeyset`` only encrypted under the master keyset, bound to the
organization's public id and the purpose.

Unwrapped primitives are cached per process, at most ``CACHE_SIZE`` organizations
(oldest out), tagged with the keysets' revisions:

- reads (decryption) trust the cache and, when a value does not authenticate, drop
  the entry and try once more with the keysets as stored now (a process that has not
  seen a rotation yet catches up instead of failing);
- writes and blind-index lookups check the revisions first (one small query per
  transaction). On PostgreSQL that query takes a share lock on the keyset rows, held
  until the writer's transaction ends, so a rotation (which locks them for update)
  cannot retire a key while a row encrypted under it is still being written; later
  writes of the same transaction reuse what it read (unless the savepoint it was
  taken in was rolled back, which releases the lock).

Keysets are tenant rows: on PostgreSQL, row-level security shows them only inside
their organization's context (``afspraak.crypto.tenants.organization_context``),
where reads and writes of that organization's data happen anyway.
"""

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import tink
from django.db import connection, transaction
from django.db.models import F
from tink import aead, prf
from tink.proto import tink_pb2

from afspraak.crypto.ciphertext import (
    keyset_associated_data,
    row_associated_data_head,
    sealed_prefix,
)
from afspraak.crypto.errors import MasterKeyError, MissingKeysetError
from afspraak.crypto.keyring import forget_master_keyring, keyset_proto, master_keyring
from afspraak.crypto.models import KeysetPurpose, MasterKeyRecord, OrganizationKeyset
from afspraak.crypto.system_secrets import forget_system_secrets
from afspraak.crypto.tenants import Organization, organization_context, organization_setting

aead.register()
prf.register()

CACHE_SIZE = 1024
TEMPLATES: dict[str, tink_pb2.KeyTemplate] = {
    KeysetPurpose.DATA: aead.aead_key_templates.AES256_GCM,
    KeysetPurpose.INDEX: prf.prf_key_templates.HMAC_SHA256,
}


@dataclass(frozen=True, slots=True)
class OrganizationKeys:
    """An organization's unwrapped primitives, as of the revisions they were read at."""

    organization_id: int
    organization_public_id: str
    revisions: frozenset[tuple[str, str]]
    data: aead.Aead
    index: prf.PrfSet
    index_key_ids: frozenset[int]
    data_primary_key_id: int
    data_key_ids: frozenset[int]
    # The fast path of every decryption: each enabled data key's own primitive, by the
    # ``sealed_prefix`` its values start with, and the organization's associated-data head.
    data_by_prefix: Mapping[str, aead.Aead]
    row_context: bytes


class _Cache:
    """A bounded map of organization id to ``OrganizationKeys``; the oldest entry leaves first.

    Reads take no lock (a dict lookup is atomic in CPython): they are on the path of
    every decrypted value. Writes are rare and locked.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[int, OrganizationKeys] = {}
        self._lock = threading.Lock()

    def get(self, organization_id: int) -> OrganizationKeys | None:
        return self._entries.get(organization_id)

    def put(self, keys: OrganizationKeys) -> None:
        with self._lock:
            self._entries.pop(keys.organization_id, None)
            self._entries[keys.organization_id] = keys
            while len(self._entries) > self._size:
                del self._entries[next(iter(self._entries))]

    def discard(self, organization_id: int) -> None:
        with self._lock:
            self._entries.pop(organization_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _Cache(CACHE_SIZE)


def clear_cache() -> None:
    """Forget every unwrapped keyset of this process."""
    _cache.clear()


def clear_key_caches() -> None:
    """Forget the master keyring, every unwrapped keyset and system secret of this process."""
    forget_master_keyring()
    clear_cache()
    forget_system_secrets()


def forget(organization_id: int) -> None:
    """Forget one organization's unwrapped keysets and the revisions this transaction read."""
    _cache.discard(organization_id)
    _forget_locked_revisions(organization_id)


# --- Wrapping -----------------------------------------------------------------------------------


def wrap_keyset(handle: tink.KeysetHandle, organization_public_id: str, purpose: str) -> str:
    """Return ``handle`` encrypted under the master keyset's primary key (Tink JSON)."""
    return tink.json_proto_keyset_format.serialize_encrypted(
        handle, master_keyring(), keyset_associated_data(organization_public_id, purpose)
    )


def unwrap_keyset(keyset: OrganizationKeyset, organization_public_id: str) -> tink.KeysetHandle:
    """Decrypt a stored keyset; raise ``MasterKeyError`` if the master keyset cannot."""
    try:
        return tink.json_proto_keyset_format.parse_encrypted(
            keyset.wrapped_keyset,
            master_keyring(),
            keyset_associated_data(organization_public_id, keyset.purpose),
        )
    except tink.TinkError:
        raise MasterKeyError(
            f"the {keyset.purpose} keyset of organization {organization_public_id} does not "
            f"decrypt under the master keyset (it was wrapped by master key "
            f"{keyset.master_key_id}): the master keyset is wrong, or is missing that key, "
            "or the stored keyset was altered",
            organization_id=keyset.organization_id,
            reason="keyset_unwrap_failed",
            purpose=keyset.purpose,
            master_key_id=keyset.master_key_id,
        ) from None


def store_keyset(keyset: OrganizationKeyset, handle: tink.KeysetHandle, public_id: str) -> None:
    """Wrap ``handle`` under the current master key into ``keyset`` (not saved)."""
    keyset.wrapped_keyset = wrap_keyset(handle, public_id, keyset.purpose)
    # The caller changes the keyset's revision next, in this transaction: read it again.
    _forget_locked_revisions(keyset.organization_id)
    keyset.master_key_id = master_keyring().primary_key_id
    note_master_key(keyset.master_key_id)


def note_master_key(key_id: str) -> None:
    """Remember when master key ``key_id`` was first used (its age in ``keys status``)."""
    MasterKeyRecord.objects.get_or_create(key_id=key_id)


def create_organization_keysets(organization: Organization) -> bool:
    """Create the organization's data and blind-index keysets unless they exist."""
    organization_id, public_id = organization.pk, organization.public_id
    with organization_context(organization):
        existing = set(
            OrganizationKeyset.objects.filter(organization_id=organization_id).values_list(
                "purpose", flat=True
            )
        )
        missing = [purpose for purpose in KeysetPurpose.values if purpose not in existing]
        for purpose in missing:
            keyset = OrganizationKeyset(organization_id=organization_id, purpose=purpose)
            store_keyset(keyset, tink.new_keyset_handle(TEMPLATES[purpose]), public_id)
            keyset.save()
    if missing:
        forget(organization_id)
    return bool(missing)


# --- Loading ------------------------------------------------------------------------------------


class OutsideOrganizationContextError(RuntimeError):
    """Keysets were read outside their organization's context: row-level security hides them."""


def _refuse_outside_context(organization_id: int) -> None:
    """Tell a programming error (no tenant context on PostgreSQL) from really missing keysets."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting(%s, true)", [organization_setting()])
        current = cursor.fetchone()[0]
    if current != str(organization_id):
        raise OutsideOrganizationContextError(
            f"the keysets of organization {organization_id} were read outside its context "
            "(afspraak.crypto.tenants.organization_context): row-level security hides them"
        )


def _primitives_by_prefix(handle: tink.KeysetHandle) -> Mapping[str, aead.Aead]:
    """Return each enabled TINK-prefixed key's own AEAD primitive, by its stored-text prefix.

    Tink's keyset primitive finds the key by the same prefix, but its Python wrapper
    costs as much again as the decryption itself; values are read by the thousand.
    """
    primitives = {}
    for key in keyset_proto(handle).key:
        if (
            key.status == tink_pb2.KeyStatusType.ENABLED
            and key.output_prefix_type == tink_pb2.OutputPrefixType.TINK
        ):
            primitives[sealed_prefix(key.key_id)] = tink.core.Registry.primitive(
                key.key_data, aead.Aead
            )
    return MappingProxyType(primitives)


def _load(organization_id: int) -> OrganizationKeys:
    rows = {
        keyset.purpose: keyset
        # Only the public id is read from the organization: a data migration calls this
        # with an older schema, which lacks the organization's later columns.
        for keyset in OrganizationKeyset.objects.filter(organization_id=organization_id).annotate(
            organization_public_id=F("organization__public_id")
        )
    }
    for purpose in KeysetPurpose.values:
        if purpose not in rows:
            _refuse_outside_context(organization_id)
            raise MissingKeysetError(
                f"organization {organization_id} has no {purpose} keyset: if it never had "
                "one, create it with `afspraak keys init-org SLUG`; if it was lost, restore "
                "the database from a backup (its encrypted data cannot be read without it)",
                organization_id=organization_id,
                purpose=purpose,
            )
    public_id = rows[KeysetPurpose.DATA].organization_public_id
    data_handle = unwrap_keyset(rows[KeysetPurpose.DATA], public_id)
    index_handle = unwrap_keyset(rows[KeysetPurpose.INDEX], public_id)
    info = data_handle.keyset_info()
    keys = OrganizationKeys(
        organization_id=organization_id,
        organization_public_id=public_id,
        revisions=frozenset((purpose, row.revision) for purpose, row in rows.items()),
        data=data_handle.primitive(aead.Aead),
        index=index_handle.primitive(prf.PrfSet),
        index_key_ids=frozenset(key.key_id for key in index_handle.keyset_info().key_info),
        data_primary_key_id=info.primary_key_id,
        data_key_ids=frozenset(key.key_id for key in info.key_info),
        data_by_prefix=_primitives_by_prefix(data_handle),
        row_context=row_associated_data_head(public_id),
    )
    _cache.put(keys)
    return keys


def cached_keys(organization_id: int) -> OrganizationKeys | None:
    """Return the organization's primitives if this process has them (no query)."""
    return _cache.get(organization_id)


def keys_for_reading(organization_id: int, *, reload: bool = False) -> OrganizationKeys:
    """Return the organization's primitives from the cache (or, on a miss or ``reload``, the DB)."""
    if not reload:
        keys = _cache.get(organization_id)
        if keys is not None:
            return keys
    return _load(organization_id)


# Django's ORM can lock rows only for update; a share lock lets writers of one organization
# run side by side while still making a rotation wait for all of them.
_REVISIONS_SQL = (
    "SELECT purpose, revision FROM crypto_organizationkeyset WHERE organization_id = %s"
)
_REVISIONS_SHARED_SQL = _REVISIONS_SQL + " FOR SHARE"


@dataclass(frozen=True, slots=True)
class _RevisionsLocked:
    """The revisions share-locked in the current transaction: a do-nothing on-commit hook.

    Kept among the transaction's on-commit hooks because Django drops those with the
    savepoint they were added in, when it is rolled back, just as PostgreSQL releases a
    row lock taken in a rolled-back savepoint, and drops them all when the transaction
    ends, when the lock ends too: while the marker is there, the lock is held.
    """

    organization_id: int
    revisions: frozenset[tuple[str, str]]

    def __call__(self) -> None:
        """Do nothing: the marker only lives as long as the lock."""


def _revisions_locked_here(organization_id: int) -> frozenset[tuple[str, str]] | None:
    if not connection.in_atomic_block:
        return None
    # Entries are (savepoint ids, hook, robust); the stubs know only the first two.
    for entry in connection.run_on_commit:
        hook = entry[1]
        if isinstance(hook, _RevisionsLocked) and hook.organization_id == organization_id:
            return hook.revisions
    return None


def _forget_locked_revisions(organization_id: int) -> None:
    connection.run_on_commit = [
        entry
        for entry in connection.run_on_commit
        if not (
            isinstance(entry[1], _RevisionsLocked) and entry[1].organization_id == organization_id
        )
    ]


def _current_revisions(organization_id: int) -> frozenset[tuple[str, str]]:
    # One share lock per transaction is enough: it is held until the transaction ends,
    # so the revisions it read cannot change under later writes of the same transaction.
    revisions = _revisions_locked_here(organization_id)
    if revisions is not None:
        return revisions
    sql = _REVISIONS_SHARED_SQL if connection.vendor == "postgresql" else _REVISIONS_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization_id])
        revisions = frozenset((purpose, revision) for purpose, revision in cursor.fetchall())
    if connection.in_atomic_block:
        transaction.on_commit(_RevisionsLocked(organization_id, revisions))
    return revisions


def keys_for_writing(organization_id: int) -> OrganizationKeys:
    """Return the organization's primitives as stored now (revisions checked, share-locked)."""
    revisions = _current_revisions(organization_id)
    keys = _cache.get(organization_id)
    if keys is not None and keys.revisions == revisions:
        return keys
    return _load(organization_id)

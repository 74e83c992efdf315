"""Encrypted model fields and blind indexes (control D1 at rest).

A model holding customer personal data subclasses ``EncryptedModel`` and declares
its fields as ``EncryptedTextField``, ``EncryptedEmailField`` or
``EncryptedJSONField``. These fields have no column of their own: a row's encrypted
values are kept together, as one JSON object encrypted once, in the row's ``sealed``
column (``SealedRowField``, which ``EncryptedModel`` provides). The model must have an
``organization`` foreign key and a random, immutable ``public_id`` (other names can be
given to each field): the row is encrypted under that organization's data keyset and
bound, through the associated data, to the organization, the model and the row
(``afspraak.crypto.ciphertext``); each value is bound to its field by its name inside
the authenticated JSON, so fields can be added or removed without re-sealing rows.

- Saving seals the row again (``SealedRowField.pre_save``) when any of its values was
  read or set, or when it is under an old key; otherwise the stored ciphertext is kept
  as it is. The instance keeps the plaintext, the database gets ciphertext only.
- An encrypted field cannot appear in SQL: filtering, ordering, ``values()`` or
  ``update()`` naming it raise ``EncryptedFieldQueryError``; ``bulk_update()`` refuses
  it as a non-concrete field. The ``sealed`` column takes ciphertext only
  (``PlaintextRefusedError``).
- Loading keeps the ciphertext; the first read (or write) of any encrypted attribute
  decrypts the row (one cached key lookup per organization, no query) and keeps its
  values on the instance: a row is decrypted at most once, however many fields are read.
- A row that does not authenticate raises ``DecryptionError`` (audited); nothing is
  returned in its place.
- ``BlindIndexField`` keeps a keyed HMAC (the organization's PRF keyset) of a
  normalised source value, for equality lookups with ``index_for``.

Instances must never be pickled or cached: that would store decrypted values.

The package is split by concern (``row``: the sealed row and its descriptor;
``sealed``: its column; ``encrypted``: the field types; ``blind_index``;
``context``: which organization and row a value is bound to; ``refusals``;
``model``: ``EncryptedModel``). Every public name is importable from here, the path
models and migrations use: the fields' ``deconstruct`` names them by this package.
"""

from afspraak.crypto.fields.blind_index import (
    BLIND_INDEX_BYTES,
    NORMALIZERS,
    BlindIndex,
    BlindIndexExact,
    BlindIndexField,
    BlindIndexIn,
    blind_index_of,
    blind_index_value,
    normalize_email,
    normalize_exact,
)
from afspraak.crypto.fields.context import RowContext
from afspraak.crypto.fields.encrypted import (
    EncryptedEmailField,
    EncryptedJSONField,
    EncryptedTextField,
)
from afspraak.crypto.fields.model import (
    EncryptedModel,
    blind_indexed_models,
    check_encrypted_models,
    encrypted_models,
)
from afspraak.crypto.fields.refusals import (
    EncryptedFieldQueryError,
    PlaintextRefusedError,
    SerializationRefusedError,
)
from afspraak.crypto.fields.row import (
    SEALED,
    EncryptedAttribute,
    EncryptedField,
    RowSpec,
    is_unread,
    open_row,
    row_spec,
    seal_row,
)
from afspraak.crypto.fields.sealed import SealedRowField, SealedWith
from afspraak.crypto.reporting import reporting_failures

__all__ = [
    "BLIND_INDEX_BYTES",
    "NORMALIZERS",
    "SEALED",
    "BlindIndex",
    "BlindIndexExact",
    "BlindIndexField",
    "BlindIndexIn",
    "EncryptedAttribute",
    "EncryptedEmailField",
    "EncryptedField",
    "EncryptedFieldQueryError",
    "EncryptedJSONField",
    "EncryptedModel",
    "EncryptedTextField",
    "PlaintextRefusedError",
    "RowContext",
    "RowSpec",
    "SealedRowField",
    "SealedWith",
    "SerializationRefusedError",
    "blind_index_of",
    "blind_index_value",
    "blind_indexed_models",
    "check_encrypted_models",
    "encrypted_models",
    "is_unread",
    "normalize_email",
    "normalize_exact",
    "open_row",
    "reporting_failures",
    "row_spec",
    "seal_row",
]

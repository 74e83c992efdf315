"""The sealed row: all of a row's encrypted values in one ciphertext, and the fields inside it.

``EncryptedField`` values have no column: ``row_spec`` lists a model's encrypted fields,
``open_row`` decrypts the row's ``sealed`` column once (on the first read of any of
them, through ``EncryptedAttribute``) and keeps the values on the instance, and
``seal_row`` encrypts them all again under the organization's primary data key. The
associated data binds the row to its organization, model and public id
(``afspraak.crypto.ciphertext``).
"""

import binascii
import json
from dataclasses import dataclass
from typing import Any

import orjson
import tink
from django.core import checks
from django.db import models

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import (
    SEALED_PREFIX_LENGTH,
    MalformedCiphertextError,
    body_bytes,
    key_id_of,
    row_associated_data,
    row_associated_data_middle,
    seal,
    unseal,
)
from afspraak.crypto.errors import CryptoError, DecryptionError
from afspraak.crypto.fields.context import RowContext, check_row_context
from afspraak.crypto.fields.refusals import EncryptedFieldQueryError, SerializationRefusedError
from afspraak.crypto.reporting import report_failure

SEALED = "sealed"
PACKAGE = "afspraak.crypto.fields"


def migration_path(path: str) -> str:
    """Name a field class of this package by the package itself, as migrations always have."""
    module, _, name = path.rpartition(".")
    return f"{PACKAGE}.{name}" if module.startswith(f"{PACKAGE}.") else path


@dataclass(frozen=True)
class RowSpec:
    """What a model's sealed rows hold: its encrypted fields, by name."""

    label: str
    fields: tuple["EncryptedField", ...]
    names: tuple[str, ...]
    context: RowContext
    associated_data_middle: bytes


_specs: dict[type[models.Model], RowSpec] = {}


def row_spec(model: type[models.Model]) -> RowSpec:
    """Return the sealed-row description of ``model`` (computed once per model)."""
    spec = _specs.get(model)
    if spec is None:
        concrete = model._meta.concrete_model or model
        fields = tuple(
            sorted(
                (f for f in concrete._meta.private_fields if isinstance(f, EncryptedField)),
                key=lambda f: f.name,
            )
        )
        if not fields:
            raise TypeError(f"{model._meta.label} has no encrypted fields")
        label = str(concrete._meta.label_lower)
        names = tuple(field.name for field in fields)
        spec = RowSpec(
            label=label,
            fields=fields,
            names=names,
            context=fields[0].context,
            associated_data_middle=row_associated_data_middle(label),
        )
        _specs[model] = spec
    return spec


def open_row(instance: models.Model) -> dict[str, Any]:
    """Decrypt the row's sealed values and put them on the instance, beside any set already.

    Return the decrypted values (empty for a row never saved).
    """
    data = instance.__dict__
    if SEALED not in data:
        instance.refresh_from_db(fields=[SEALED])
    text = data[SEALED]
    values = _unseal_row(instance, text) if text else {}
    for name, value in values.items():
        if name not in data:
            data[name] = value
    return values


def _unseal_row(instance: models.Model, text: str) -> dict[str, Any]:
    # The common case inline, as lean as it gets (this runs for every row read): keys
    # cached, row complete, the value under a key of the keyset. Associated data as in
    # ``row_associated_data``, from parts computed once per organization and model.
    spec = row_spec(type(instance))
    data = instance.__dict__
    keys = keysets.cached_keys(data.get(spec.context.organization_attname, 0))
    row_id = data.get(spec.context.row_id_field)
    if keys is not None and row_id:
        primitive = keys.data_by_prefix.get(text[:SEALED_PREFIX_LENGTH])
        if primitive is not None:
            try:
                # orjson: a row's JSON parsed in a fraction of the standard library's time
                # (what it refuses, like NaN, falls through to the careful path below).
                values = orjson.loads(
                    primitive.decrypt(
                        body_bytes(text),
                        keys.row_context + spec.associated_data_middle + row_id.encode(),
                    )
                )
            except (tink.TinkError, binascii.Error, ValueError):
                pass
            else:
                if values.__class__ is dict:
                    return _with_fields_of(spec, values)
    try:
        return _open_carefully(instance, spec, text)
    except CryptoError as failure:
        report_failure(failure)
        raise


def _with_fields_of(spec: RowSpec, values: dict[str, Any]) -> dict[str, Any]:
    """Return a row's values for the model's current encrypted fields.

    A row sealed before a field was added lacks it (it takes the field's default); one
    sealed before a field was removed still holds it (dropped, and gone at the next save).
    """
    if len(values) == len(spec.names) and all(name in values for name in spec.names):
        return values
    return {
        field.name: values[field.name] if field.name in values else field.get_default()
        for field in spec.fields
    }


def _open_carefully(instance: models.Model, spec: RowSpec, text: str) -> dict[str, Any]:
    organization_id = spec.context.organization_id(instance)
    row_id = spec.context.row_id(instance)
    keys = keysets.keys_for_reading(organization_id)
    for attempt in range(2):
        if attempt:
            # The cached keys may predate a rotation made by another process.
            keys = keysets.keys_for_reading(organization_id, reload=True)
        associated_data = row_associated_data(keys.organization_public_id, spec.label, row_id)
        try:
            plaintext = unseal(keys.data, text, associated_data)
        except (tink.TinkError, MalformedCiphertextError):
            continue
        try:
            values = json.loads(plaintext.decode("utf-8"))
        except ValueError:
            break
        if isinstance(values, dict):
            return _with_fields_of(spec, values)
        break
    key_id = key_id_of(text)
    raise DecryptionError(
        f"{instance._meta.label} row {row_id} (organization {keys.organization_public_id}, "
        f"data key {key_id}) does not decrypt: its sealed value was altered, or copied from "
        "another row, model or organization, or its key is gone; restore the row from a backup",
        organization_id=organization_id,
        model=spec.label,
        row_id=row_id,
        key_id=key_id,
    )


def seal_row(instance: models.Model, keys: keysets.OrganizationKeys) -> str:
    """Encrypt every encrypted value of ``instance`` under the keys' primary data key.

    Values never set take their field's default; a stored row never opened is
    decrypted first. Return the stored text (not saved).
    """
    spec = row_spec(type(instance))
    data = instance.__dict__
    if data.get(SEALED, True) and any(name not in data for name in spec.names):
        open_row(instance)
    plain = {}
    for field in spec.fields:
        if field.name not in data:
            data[field.name] = field.get_default()
        plain[field.name] = field.prepare(data[field.name])
    plaintext = json.dumps(plain, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    associated_data = row_associated_data(
        keys.organization_public_id, spec.label, spec.context.row_id(instance)
    )
    return seal(keys.data, plaintext, associated_data)


def is_unread(instance: models.Model) -> bool:
    """Tell whether a stored row's values have been neither read nor set on this instance."""
    data = instance.__dict__
    return bool(data.get(SEALED)) and not any(
        name in data for name in row_spec(type(instance)).names
    )


class EncryptedAttribute:
    """Decrypts the row on the first read of any of its encrypted values.

    The values then live in the instance's ``__dict__`` under their names, where
    Python finds them before this (non-data) descriptor: later reads cost nothing, and
    a write is a plain attribute write, which ``SealedRowField.pre_save`` seals.
    """

    def __init__(self, field: "EncryptedField") -> None:
        self.field = field

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.name
        open_row(instance)
        if name not in data:
            data[name] = self.field.get_default()
        return data[name]


class EncryptedField(models.TextField):
    """Base of the encrypted fields: a value kept only inside the row's sealed ciphertext."""

    _ALLOWED_LOOKUPS: frozenset[str] = frozenset()

    def __init__(
        self,
        *args: Any,
        organization_field: str = "organization",
        row_id_field: str = "public_id",
        **kwargs: Any,
    ) -> None:
        self.context = RowContext(organization_field, row_id_field)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        path = migration_path(path)
        if self.context.organization_field != "organization":
            kwargs["organization_field"] = self.context.organization_field
        if self.context.row_id_field != "public_id":
            kwargs["row_id_field"] = self.context.row_id_field
        return name, path, args, kwargs

    def get_attname_column(self) -> tuple[str, None]:
        return self.get_attname(), None

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=True)
        setattr(cls, self.attname, EncryptedAttribute(self))

    def prepare(self, value: Any) -> Any:
        """Return ``value`` as it is written into the row's JSON."""
        return value if value is None else str(value)

    def _refuse(self) -> EncryptedFieldQueryError:
        return EncryptedFieldQueryError(
            f"{self.model._meta.label}.{self.name} is encrypted inside the row's sealed "
            "column: it cannot be filtered, ordered, selected or updated in SQL (save the "
            "instance instead; search with a blind index)"
        )

    def get_col(self, alias: str, output_field: Any = None) -> Any:
        raise self._refuse()

    def get_prep_value(self, value: Any) -> Any:
        raise self._refuse()

    def get_lookup(self, lookup_name: str) -> Any:
        return None

    def value_to_string(self, obj: Any) -> str:
        raise SerializationRefusedError(
            f"{self.model._meta.label}.{self.name} is encrypted: serializers refuse it"
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = [*super().check(**kwargs), *check_row_context(self, self.context)]
        model = self.model
        others = [f for f in model._meta.private_fields if isinstance(f, EncryptedField)]
        if any(
            (f.context.organization_field, f.context.row_id_field)
            != (self.context.organization_field, self.context.row_id_field)
            for f in others
        ):
            errors.append(
                checks.Error(
                    f"the encrypted fields of {model._meta.label} name different "
                    "organization or row id fields: a row is sealed as one",
                    obj=self,
                    id="crypto.E006",
                )
            )
        return errors

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
"""

import binascii
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import tink
from django import forms
from django.core import checks, exceptions, validators
from django.core.exceptions import FieldError
from django.db import models, router, transaction
from django.db.models.lookups import Exact, In, Lookup

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import (
    SEALED_PREFIX_LENGTH,
    MalformedCiphertextError,
    blind_index_input,
    body_bytes,
    key_id_of,
    row_associated_data,
    row_associated_data_middle,
    seal,
    sealed_prefix,
    unseal,
)
from afspraak.crypto.errors import CryptoError, DecryptionError, report_failure

SEALED = "sealed"
_WRITE_KEYS = "_crypto_write_keys"
BLIND_INDEX_BYTES = 32
_HEX_DIGITS = frozenset("0123456789abcdef")


class PlaintextRefusedError(TypeError):
    """A plaintext value was about to be sent to the database in place of a ciphertext."""


class EncryptedFieldQueryError(FieldError):
    """An encrypted field was named in a query: its values exist only inside the sealed row."""


class SerializationRefusedError(TypeError):
    """A model with encrypted fields was about to be written out by a serializer (``dumpdata``)."""


@contextmanager
def reporting_failures() -> Iterator[None]:
    """Record any ``CryptoError`` raised inside as an audit event, then let it go on."""
    try:
        yield
    except CryptoError as failure:
        report_failure(failure)
        raise


def normalize_email(value: str) -> str:
    """Return an e-mail address as compared for equality: trimmed and lower-cased."""
    return value.strip().lower()


def normalize_exact(value: str) -> str:
    """Return the value itself: equality is exact."""
    return value


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "email": normalize_email,
    "exact": normalize_exact,
}


# --- Context of a row ---------------------------------------------------------------------------


class _RowContext:
    """Reads the organization and the row id of an instance."""

    def __init__(self, organization_field: str, row_id_field: str) -> None:
        self.organization_field = organization_field
        self.organization_attname = f"{organization_field}_id"
        self.row_id_field = row_id_field

    def organization_id(self, instance: models.Model) -> int:
        organization_id = instance.__dict__.get(self.organization_attname)
        if organization_id is None:
            organization_id = getattr(instance, self.organization_attname, None)
        if organization_id is None:
            raise ValueError(
                f"{instance._meta.label} has no {self.organization_field}: "
                "an encrypted value needs the organization it belongs to"
            )
        return int(organization_id)

    def row_id(self, instance: models.Model) -> str:
        row_id = instance.__dict__.get(self.row_id_field) or getattr(
            instance, self.row_id_field, None
        )
        if not row_id:
            raise ValueError(
                f"{instance._meta.label} has no {self.row_id_field}: "
                "an encrypted row is bound to its public id"
            )
        return str(row_id)


def _write_keys(instance: models.Model, organization_id: int) -> keysets.OrganizationKeys:
    """Return the keys to encrypt with, checked once per save of ``instance``."""
    keys = instance.__dict__.get(_WRITE_KEYS)
    if keys is None or keys.organization_id != organization_id:
        keys = keysets.keys_for_writing(organization_id)
        instance.__dict__[_WRITE_KEYS] = keys
    return keys


# --- The sealed row -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowSpec:
    """What a model's sealed rows hold: its encrypted fields, by name."""

    label: str
    fields: tuple["EncryptedField", ...]
    names: tuple[str, ...]
    context: _RowContext
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


class SealedWith(Lookup):
    """``sealed__sealed_with=KEY_ID``: the row is sealed under data key ``KEY_ID``."""

    lookup_name = "sealed_with"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        prefix = sealed_prefix(int(self.rhs))
        return f"SUBSTR({lhs_sql}, 1, {len(prefix)}) = %s", (*lhs_params, prefix)


class SealedRowField(models.TextField):
    """The row's one ciphertext: all its encrypted values, as ``afs1`` text."""

    _ALLOWED_LOOKUPS = frozenset({"exact", "isnull", "sealed_with"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["editable"] = False
        kwargs["default"] = ""
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        for fixed in ("editable", "default"):
            kwargs.pop(fixed, None)
        return name, path, args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        if value is None or value == "" or (isinstance(value, str) and key_id_of(value)):
            return value
        raise PlaintextRefusedError(
            f"{self.model._meta.label}.{self.name} holds ciphertext only: save the instance "
            "to encrypt its values"
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in self._ALLOWED_LOOKUPS:
            return None
        return super().get_lookup(lookup_name)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        data = model_instance.__dict__
        stored = data.get(self.attname)
        spec = row_spec(type(model_instance))
        keys = _write_keys(model_instance, spec.context.organization_id(model_instance))
        if (
            stored
            and key_id_of(stored) == keys.data_primary_key_id
            and not any(name in data for name in spec.names)
        ):
            return stored
        text = seal_row(model_instance, keys)
        data[self.attname] = text
        return text

    def value_to_string(self, obj: Any) -> str:
        # Every Django serializer (json, jsonl, xml, python, yaml: dumpdata) asks this.
        model = self.model._meta
        names = ", ".join(row_spec(self.model).names)
        raise SerializationRefusedError(
            f"{model.label} is encrypted ({names}): dumpdata and Django's serializers "
            "refuse it, as its rows can be read only with this installation's keys. Leave "
            f"the model out (`afspraak dumpdata --exclude {model.label}`); its rows are saved "
            "by the database backups, as ciphertext (see docs/security/encryption.md)"
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = super().check(**kwargs)
        model = self.model
        if not any(isinstance(f, EncryptedField) for f in model._meta.private_fields):
            errors.append(
                checks.Error(
                    f"{model._meta.label} is an EncryptedModel without encrypted fields",
                    obj=self,
                    id="crypto.E005",
                )
            )
        return errors


SealedRowField.register_lookup(SealedWith)


# --- Encrypted fields ---------------------------------------------------------------------------


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
        self.context = _RowContext(organization_field, row_id_field)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
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
        errors = [*super().check(**kwargs), *_check_row_context(self, self.context)]
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


class EncryptedTextField(EncryptedField):
    """Text kept only as ciphertext."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(validators.MaxLengthValidator(self.max_length))


class EncryptedEmailField(EncryptedTextField):
    """An e-mail address kept only as ciphertext."""

    default_validators = [validators.validate_email]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.EmailField, **kwargs})


class EncryptedJSONField(EncryptedField):
    """A JSON value (object, list, text, number) kept only as ciphertext."""

    # What django-stubs' plugin types the attribute as (TextField's would say str).
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    empty_strings_allowed = False

    def prepare(self, value: Any) -> Any:
        return value

    def to_python(self, value: Any) -> Any:
        return value

    def validate(self, value: Any, model_instance: Any) -> None:
        super().validate(value, model_instance)
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise exceptions.ValidationError(
                "Enter a value that can be stored as JSON.", code="invalid"
            ) from None

    def formfield(self, **kwargs: Any) -> Any:
        return models.Field.formfield(self, **{"form_class": forms.JSONField, **kwargs})


# --- Blind indexes ------------------------------------------------------------------------------


class BlindIndexField(models.CharField):
    """A keyed HMAC of a normalised source field, for equality lookups (``index_for``)."""

    def __init__(
        self,
        *args: Any,
        source: str,
        normalizer: str = "exact",
        organization_field: str = "organization",
        **kwargs: Any,
    ) -> None:
        if normalizer not in NORMALIZERS:
            raise ValueError(f"unknown normalizer {normalizer!r}: one of {sorted(NORMALIZERS)}")
        self.source = source
        self.normalizer = normalizer
        self.context = _RowContext(organization_field, "public_id")
        kwargs["max_length"] = 2 * BLIND_INDEX_BYTES
        kwargs["editable"] = False
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        kwargs["normalizer"] = self.normalizer
        if self.context.organization_field != "organization":
            kwargs["organization_field"] = self.context.organization_field
        for fixed in ("max_length", "editable", "null", "blank"):
            kwargs.pop(fixed, None)
        return name, path, args, kwargs

    def _compute(self, keys: keysets.OrganizationKeys, value: str | None) -> "BlindIndex | None":
        return blind_index_value(
            keys, str(self.model._meta.label_lower), self.name, self.normalizer, value
        )

    def index_for(self, organization_id: int, value: str) -> "BlindIndex | None":
        """Return the index of ``value`` in ``organization_id``: filter this field on it.

        While the organization's index key is being rotated, the result also carries
        the index under each older key, and ``field=index`` or ``field__in=[...]``
        lookups match any of them, so rows not recomputed yet are still found.
        """
        with reporting_failures():
            return self._compute(keysets.keys_for_writing(organization_id), value)

    def primary_index(self, instance: models.Model, keys: keysets.OrganizationKeys) -> str | None:
        """Return the index of the row's source value (decrypted) under the primary key alone."""
        index = self._compute(keys, getattr(instance, self.source))
        return None if index is None else str(index)

    def refresh(self, instance: models.Model, keys: keysets.OrganizationKeys | None = None) -> Any:
        """Recompute the index from the source's plaintext.

        A row whose values were neither read nor set keeps its stored index, unless the
        index key is being rotated: then it is decrypted, so that a save never writes
        back an index under the old key over one the rotation has just recomputed.
        """
        if keys is None:
            keys = _write_keys(instance, self.context.organization_id(instance))
        if is_unread(instance) and len(keys.index_key_ids) < 2:
            return getattr(instance, self.attname)
        value = self._compute(keys, getattr(instance, self.source))
        setattr(instance, self.attname, value)
        return value

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        return self.refresh(model_instance)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        # The older indexes a BlindIndex carries serve lookups only (see BlindIndexExact).
        return str(value) if isinstance(value, BlindIndex) else value

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        if (
            isinstance(value, str)
            and len(value) == 2 * BLIND_INDEX_BYTES
            and set(value) <= _HEX_DIGITS
        ):
            return value
        raise PlaintextRefusedError(
            f"{self.model._meta.label}.{self.name} is a blind index: look it up with the "
            f"value of index_for(), not with a plain {self.source}"
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        errors = [*super().check(**kwargs), *_check_row_context(self, self.context)]
        try:
            source = self.model._meta.get_field(self.source)
        except exceptions.FieldDoesNotExist:
            source = None
        if not isinstance(source, EncryptedTextField):
            errors.append(
                checks.Error(
                    f"blind index source {self.source!r} is not an encrypted text field",
                    obj=self,
                    id="crypto.E004",
                )
            )
        return errors


def blind_index_value(
    keys: keysets.OrganizationKeys,
    model_label: str,
    field_name: str,
    normalizer: str,
    value: str | None,
) -> "BlindIndex | None":
    """Return the blind index of ``value`` for a model's index field, under the keys' PRF keys."""
    normalized = NORMALIZERS[normalizer](value or "")
    if not normalized:
        return None
    data = blind_index_input(model_label, field_name, normalized)
    primary = keys.index.primary_id()
    others = sorted((key_id, prf) for key_id, prf in keys.index.all().items() if key_id != primary)
    return BlindIndex(
        bytes(keys.index.primary().compute(data, BLIND_INDEX_BYTES)).hex(),
        tuple(bytes(prf.compute(data, BLIND_INDEX_BYTES)).hex() for _, prf in others),
    )


class BlindIndex(str):
    """A blind index to look up (under the primary key), with its values under older keys."""

    alternatives: tuple[str, ...]

    def __new__(cls, primary: str, alternatives: tuple[str, ...] = ()) -> "BlindIndex":
        index = super().__new__(cls, primary)
        index.alternatives = alternatives
        return index

    @property
    def candidates(self) -> tuple[str, ...]:
        return (str(self), *self.alternatives)


def _candidates(value: Any) -> tuple[Any, ...]:
    return value.candidates if isinstance(value, BlindIndex) else (value,)


class BlindIndexExact(Exact):
    """``index=index_for(...)``: match the index under the primary key or any older one."""

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        if isinstance(self.rhs, BlindIndex) and self.rhs.alternatives:
            return In(self.lhs, list(self.rhs.candidates)).as_sql(compiler, connection)
        return super().as_sql(compiler, connection)


class BlindIndexIn(In):
    """``index__in=[index_for(...), ...]``: each index under the primary key or any older one."""

    def get_prep_lookup(self) -> Any:
        if not hasattr(self.rhs, "resolve_expression"):
            self.rhs = [candidate for value in self.rhs for candidate in _candidates(value)]
        return super().get_prep_lookup()


BlindIndexField.register_lookup(BlindIndexExact)
BlindIndexField.register_lookup(BlindIndexIn)


def blind_index_of(model: type[models.Model], name: str) -> BlindIndexField:
    """Return the blind index field ``name`` of ``model``."""
    field = model._meta.get_field(name)
    if not isinstance(field, BlindIndexField):
        raise TypeError(f"{model._meta.label}.{name} is not a blind index")
    return field


def _check_row_context(field: models.Field, context: _RowContext) -> list[checks.CheckMessage]:
    """Check that the field's model can tell each row's organization and public id."""
    model = field.model
    errors: list[checks.CheckMessage] = []
    if not issubclass(model, EncryptedModel):
        errors.append(
            checks.Error(
                f"{model._meta.label} has encrypted fields but is not an EncryptedModel",
                hint="subclass afspraak.crypto.fields.EncryptedModel (saves must be atomic)",
                obj=field,
                id="crypto.E001",
            )
        )
    try:
        organization = model._meta.get_field(context.organization_field)
    except exceptions.FieldDoesNotExist:
        organization = None
    if not isinstance(organization, models.ForeignKey):
        errors.append(
            checks.Error(
                f"{model._meta.label}.{context.organization_field} must be a foreign key "
                "to the organization owning the row",
                obj=field,
                id="crypto.E002",
            )
        )
    try:
        row_id = model._meta.get_field(context.row_id_field)
    except exceptions.FieldDoesNotExist:
        row_id = None
    if not isinstance(row_id, models.Field) or not row_id.unique:
        errors.append(
            checks.Error(
                f"{model._meta.label}.{context.row_id_field} must be a unique public id "
                "set when the row is created",
                obj=field,
                id="crypto.E003",
            )
        )
    return errors


class EncryptedModel(models.Model):
    """A tenant-owned model with encrypted fields, all sealed together in its ``sealed`` column.

    Saves are atomic and checked against rotation. ``__str__`` shows the public id only;
    subclasses must not show encrypted values there.
    """

    sealed = SealedRowField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.label_lower} {getattr(self, 'public_id', self.pk)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = _sealed_update_fields(type(self), update_fields)
        self.__dict__.pop(_WRITE_KEYS, None)
        try:
            with reporting_failures(), transaction.atomic(using=using, savepoint=False):
                self._load_deferred_sealed_column()
                super().save(*args, **kwargs)
        finally:
            self.__dict__.pop(_WRITE_KEYS, None)

    def _load_deferred_sealed_column(self) -> None:
        """Load a deferred ``sealed`` before a save that must seal values set meanwhile.

        Django saves only the loaded columns of an instance with deferred ones: the
        values set would be lost without the column.
        """
        data = self.__dict__
        if SEALED in data or self._state.adding:
            return
        touched = {name: data[name] for name in row_spec(type(self)).names if name in data}
        if touched:
            self.refresh_from_db(fields=[SEALED])
            data.update(touched)

    def refresh_from_db(
        self,
        using: str | None = None,
        fields: Iterable[str] | None = None,
        from_queryset: Any = None,
    ) -> None:
        if fields is not None:
            names = set(row_spec(type(self)).names)
            asked = list(fields)
            fields = [name for name in asked if name not in names]
            if len(fields) < len(asked) and SEALED not in fields:
                fields.append(SEALED)
        if fields is None or SEALED in fields:
            for name in row_spec(type(self)).names:
                self.__dict__.pop(name, None)
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    def clean(self) -> None:
        super().clean()
        # Uniqueness constraints on blind indexes are validated after clean().
        for field in self._meta.concrete_fields:
            if isinstance(field, BlindIndexField):
                with reporting_failures():
                    field.refresh(
                        self, keysets.keys_for_writing(field.context.organization_id(self))
                    )


def _sealed_update_fields(model: type[models.Model], update_fields: Iterable[str]) -> list[str]:
    """Turn encrypted field names into the sealed column, which the blind indexes follow."""
    names = set(update_fields)
    encrypted = names & set(row_spec(model).names)
    if encrypted or SEALED in names:
        names -= encrypted
        names.add(SEALED)
        names |= {
            field.name
            for field in model._meta.concrete_fields
            if isinstance(field, BlindIndexField)
        }
    return sorted(names)


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedField]]]:
    """Return every installed model with encrypted fields, and those fields."""
    from django.apps import apps

    return [
        (model, list(row_spec(model).fields))
        for model in apps.get_models()
        if issubclass(model, EncryptedModel) and not model._meta.proxy
    ]


def blind_indexed_models() -> list[tuple[type[models.Model], list[BlindIndexField]]]:
    """Return every installed model with blind indexes, and those fields."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        fields = [
            field
            for field in model._meta.concrete_fields
            if isinstance(field, BlindIndexField) and field.model is model
        ]
        if fields:
            found.append((model, fields))
    return found

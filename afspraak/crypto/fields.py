"""Encrypted model fields and blind indexes (control D1 at rest).

A model holding customer personal data subclasses ``EncryptedModel`` and declares
its fields as ``EncryptedTextField``, ``EncryptedEmailField`` or
``EncryptedJSONField``. The model must have an ``organization`` foreign key and a
random, immutable ``public_id`` (other names can be given to each field): every
value is encrypted under that organization's data keyset and bound, through the
associated data, to the organization, the model, the field and the row.

- Saving encrypts (``pre_save``); the instance keeps the plaintext, the database
  gets ciphertext only. A plaintext can never reach SQL: a query, ``update()`` or
  ``bulk_update()`` with one raises ``PlaintextRefusedError``.
- Loading keeps the ciphertext; the first read of the attribute decrypts it (one
  cached key lookup per organization, no query) and keeps the result on the
  instance, so a list that shows one column decrypts one column.
- A value that does not authenticate raises ``DecryptionError`` (audited); nothing
  is returned in its place. An empty string is stored as an empty string: its
  ciphertext would reveal the same emptiness by its length.
- ``BlindIndexField`` keeps a keyed HMAC (the organization's PRF keyset) of a
  normalised source value, for equality lookups with ``index_for``.

Instances must never be pickled or cached: that would store decrypted values.
"""

import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import tink
from django import forms
from django.core import checks, exceptions, validators
from django.db import models, router, transaction
from django.db.models.lookups import Exact, In, Lookup
from django.db.models.query_utils import DeferredAttribute

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import (
    SEALED_PREFIX_LENGTH,
    MalformedCiphertextError,
    blind_index_input,
    body_bytes,
    field_associated_data,
    field_associated_data_middle,
    key_id_of,
    seal,
    sealed_prefix,
    unseal,
)
from afspraak.crypto.errors import CryptoError, DecryptionError, report_failure

_WRITE_KEYS = "_crypto_write_keys"
BLIND_INDEX_BYTES = 32
_HEX_DIGITS = frozenset("0123456789abcdef")


class PlaintextRefusedError(TypeError):
    """A plaintext value of an encrypted field was about to be sent to the database."""


class SerializationRefusedError(TypeError):
    """An encrypted field was about to be written out by a serializer (``dumpdata``)."""


class Sealed:
    """A stored value not decrypted yet: it shows nothing of its content."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return "<Sealed value>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sealed) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def key_id(self) -> int | None:
        return key_id_of(self.text)


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
    """Reads the organization and the row id of an instance for a field."""

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
                "an encrypted value is bound to its row's public id"
            )
        return str(row_id)


def _write_keys(instance: models.Model, organization_id: int) -> keysets.OrganizationKeys:
    """Return the keys to encrypt with, checked once per save of ``instance``."""
    keys = instance.__dict__.get(_WRITE_KEYS)
    if keys is None or keys.organization_id != organization_id:
        keys = keysets.keys_for_writing(organization_id)
        instance.__dict__[_WRITE_KEYS] = keys
    return keys


# --- Encrypted fields ---------------------------------------------------------------------------


class SealedAttribute(DeferredAttribute):
    """Holds the stored ciphertext on the instance and decrypts it on first read."""

    field: "EncryptedField"

    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        data = instance.__dict__
        name = self.field.attname
        try:
            value = data[name]
        except KeyError:
            instance.refresh_from_db(fields=[name])
            value = data[name]
        if value.__class__ is Sealed:
            value = data[name] = self.field.open(instance, value)
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class SealedWith(Lookup):
    """``field__sealed_with=KEY_ID``: the value is ciphertext under data key ``KEY_ID``."""

    lookup_name = "sealed_with"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs_sql, lhs_params = self.process_lhs(compiler, connection)
        prefix = sealed_prefix(int(self.rhs))
        return f"SUBSTR({lhs_sql}, 1, {len(prefix)}) = %s", (*lhs_params, prefix)


class EncryptedField(models.TextField):
    """Base of the encrypted fields: the value is stored as ``afs1`` ciphertext text."""

    descriptor_class = SealedAttribute
    _ALLOWED_LOOKUPS = frozenset({"exact", "isnull", "sealed_with"})

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

    def get_internal_type(self) -> str:
        return "TextField"

    # What is stored as is (never a secret) and how a value becomes bytes and back.
    def is_stored_as_is(self, value: Any) -> bool:
        return value is None or value == ""

    def encode(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def decode(self, plaintext: bytes) -> Any:
        return plaintext.decode("utf-8")

    def label(self) -> str:
        label: str = self.model._meta.label_lower
        return label

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        self._associated_data_middle = field_associated_data_middle(self.label(), self.name)

    def associated_data(self, instance: models.Model, keys: keysets.OrganizationKeys) -> bytes:
        return field_associated_data(
            keys.organization_public_id, self.label(), self.name, self.context.row_id(instance)
        )

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # None and "" are stored as they are.
        return Sealed(value) if value else value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, Sealed):
            return value
        return super().to_python(value)

    def get_prep_value(self, value: Any) -> Any:
        if isinstance(value, Sealed):
            return value.text
        if self.is_stored_as_is(value):
            return value
        raise PlaintextRefusedError(
            f"{self.model._meta.label}.{self.name} is encrypted: its plaintext cannot be "
            "sent to the database (save the instance instead; search with a blind index)"
        )

    def value_to_string(self, obj: Any) -> str:
        # Every Django serializer (json, jsonl, xml, python, yaml: dumpdata) asks this.
        model = self.model._meta
        raise SerializationRefusedError(
            f"{model.label}.{self.name} is encrypted: dumpdata and Django's serializers "
            "would write its plaintext, so they refuse it. Leave the model out "
            f"(`afspraak dumpdata --exclude {model.label}`); its rows are saved by the "
            "database backups, as ciphertext (see docs/security/encryption.md)"
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name not in self._ALLOWED_LOOKUPS:
            return None
        return super().get_lookup(lookup_name)

    def seal_for(
        self, instance: models.Model, value: Any, keys: keysets.OrganizationKeys
    ) -> Sealed:
        """Encrypt ``value`` for this field of ``instance`` under the keys' primary data key."""
        return Sealed(seal(keys.data, self.encode(value), self.associated_data(instance, keys)))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if self.is_stored_as_is(value):
            return value
        keys = _write_keys(model_instance, self.context.organization_id(model_instance))
        if isinstance(value, Sealed):
            if value.key_id == keys.data_primary_key_id:
                return value
            value = getattr(model_instance, self.attname)
        return self.seal_for(model_instance, value, keys)

    def open(self, instance: models.Model, sealed: Sealed) -> Any:
        """Decrypt ``sealed``, read from this field of ``instance``; fail closed if it cannot."""
        # The common case inline, as lean as it gets (this runs for every value read): keys
        # cached, row complete, the value under a key of the keyset. Associated data as in
        # ``field_associated_data``, from parts computed once per organization and field.
        data = instance.__dict__
        keys = keysets.cached_keys(data.get(self.context.organization_attname, 0))
        row_id = data.get(self.context.row_id_field)
        if keys is not None and row_id:
            text = sealed.text
            primitive = keys.data_by_prefix.get(text[:SEALED_PREFIX_LENGTH])
            if primitive is not None:
                try:
                    return self.decode(
                        primitive.decrypt(
                            body_bytes(text),
                            keys.field_context + self._associated_data_middle + row_id.encode(),
                        )
                    )
                except (tink.TinkError, binascii.Error, ValueError):
                    pass
        try:
            return self._open_carefully(instance, sealed)
        except CryptoError as failure:
            report_failure(failure)
            raise

    def _open_carefully(self, instance: models.Model, sealed: Sealed) -> Any:
        organization_id = self.context.organization_id(instance)
        row_id = self.context.row_id(instance)
        label = self.label()
        keys = keysets.keys_for_reading(organization_id)
        for attempt in range(2):
            if attempt:
                # The cached keys may predate a rotation made by another process.
                keys = keysets.keys_for_reading(organization_id, reload=True)
            associated_data = field_associated_data(
                keys.organization_public_id, label, self.name, row_id
            )
            try:
                plaintext = unseal(keys.data, sealed.text, associated_data)
            except (tink.TinkError, MalformedCiphertextError):
                continue
            try:
                return self.decode(plaintext)
            except ValueError:
                break
        raise DecryptionError(
            f"{self.model._meta.label}.{self.name} of row {row_id} "
            f"(organization {keys.organization_public_id}, data key {sealed.key_id}) does not "
            "decrypt: the value was altered or copied from another row, field or organization, "
            "or its key is gone; restore the row from a backup",
            organization_id=organization_id,
            model=label,
            field=self.name,
            row_id=row_id,
            key_id=sealed.key_id,
        )

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        return [*super().check(**kwargs), *_check_row_context(self, self.context)]


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

    def is_stored_as_is(self, value: Any) -> bool:
        return value is None

    def encode(self, value: Any) -> bytes:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def decode(self, plaintext: bytes) -> Any:
        # Decoding first spares json the detection of the encoding of bytes.
        return json.loads(plaintext.decode("utf-8"))

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


EncryptedField.register_lookup(SealedWith)


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
        normalized = NORMALIZERS[self.normalizer](value or "")
        if not normalized:
            return None
        data = blind_index_input(str(self.model._meta.label_lower), self.name, normalized)
        primary = keys.index.primary_id()
        others = sorted(
            (key_id, prf) for key_id, prf in keys.index.all().items() if key_id != primary
        )
        return BlindIndex(
            bytes(keys.index.primary().compute(data, BLIND_INDEX_BYTES)).hex(),
            tuple(bytes(prf.compute(data, BLIND_INDEX_BYTES)).hex() for _, prf in others),
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

        A source still sealed keeps its stored index, unless the index key is being
        rotated: then it is decrypted, so that a save never writes back an index under
        the old key over one the rotation has just recomputed.
        """
        if keys is None:
            keys = _write_keys(instance, self.context.organization_id(instance))
        raw = instance.__dict__.get(self.source, Sealed(""))
        if isinstance(raw, Sealed):
            if len(keys.index_key_ids) < 2:
                return getattr(instance, self.attname)
            raw = getattr(instance, self.source)
        value = self._compute(keys, raw)
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
    """A tenant-owned model with encrypted fields: saves are atomic and checked against rotation.

    ``__str__`` shows the public id only; subclasses must not show encrypted values there.
    """

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.label_lower} {getattr(self, 'public_id', self.pk)}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            # A blind index must follow its source, even in a partial save.
            names = set(update_fields)
            names |= {
                field.name
                for field in self._meta.concrete_fields
                if isinstance(field, BlindIndexField) and field.source in names
            }
            kwargs["update_fields"] = sorted(names)
        self.__dict__.pop(_WRITE_KEYS, None)
        try:
            with reporting_failures(), transaction.atomic(using=using, savepoint=False):
                super().save(*args, **kwargs)
        finally:
            self.__dict__.pop(_WRITE_KEYS, None)

    def clean(self) -> None:
        super().clean()
        # Uniqueness constraints on blind indexes are validated after clean().
        for field in self._meta.concrete_fields:
            if isinstance(field, BlindIndexField):
                with reporting_failures():
                    field.refresh(
                        self, keysets.keys_for_writing(field.context.organization_id(self))
                    )


def encrypted_models() -> list[tuple[type[models.Model], list[EncryptedField]]]:
    """Return every installed model with encrypted fields, and those fields."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        fields = [
            field
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedField) and field.model is model
        ]
        if fields:
            found.append((model, fields))
    return found


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

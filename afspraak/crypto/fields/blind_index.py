"""Blind indexes: a keyed HMAC of a normalised value, for equality lookups on encrypted data.

The HMAC is under the organization's PRF keyset. While that key is rotated, a lookup
value (``BlindIndex``) also carries the index under each older key, and the field's
``exact`` and ``in`` lookups match any of them.
"""

from collections.abc import Callable
from typing import Any

from django.core import checks, exceptions
from django.db import models
from django.db.models.lookups import Exact, In

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import blind_index_input
from afspraak.crypto.fields.context import RowContext, check_row_context, write_keys
from afspraak.crypto.fields.encrypted import EncryptedTextField
from afspraak.crypto.fields.refusals import PlaintextRefusedError
from afspraak.crypto.fields.row import is_unread, migration_path
from afspraak.crypto.reporting import reporting_failures

BLIND_INDEX_BYTES = 32
_HEX_DIGITS = frozenset("0123456789abcdef")


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
        self.context = RowContext(organization_field, "public_id")
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
        return name, migration_path(path), args, kwargs

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
            keys = write_keys(instance, self.context.organization_id(instance))
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
        errors = [*super().check(**kwargs), *check_row_context(self, self.context)]
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

"""``EncryptedModel``: the base of models with encrypted fields, and the lists of such models."""

from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.core import checks
from django.db import models, router, transaction

from afspraak.crypto import keysets
from afspraak.crypto.fields.blind_index import BlindIndexField
from afspraak.crypto.fields.context import WRITE_KEYS
from afspraak.crypto.fields.row import SEALED, EncryptedField, row_spec
from afspraak.crypto.fields.sealed import SealedRowField
from afspraak.crypto.reporting import reporting_failures


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
        self.__dict__.pop(WRITE_KEYS, None)
        try:
            with reporting_failures(), transaction.atomic(using=using, savepoint=False):
                self._load_deferred_sealed_column()
                super().save(*args, **kwargs)
        finally:
            self.__dict__.pop(WRITE_KEYS, None)

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
    return [
        (model, list(row_spec(model).fields))
        for model in apps.get_models()
        if issubclass(model, EncryptedModel) and not model._meta.proxy
    ]


def blind_indexed_models() -> list[tuple[type[models.Model], list[BlindIndexField]]]:
    """Return every installed model with blind indexes, and those fields."""
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


def check_encrypted_models(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Report every model with encrypted fields or blind indexes that is not an EncryptedModel."""
    found = (
        apps.get_models()
        if app_configs is None
        else [model for config in app_configs for model in config.get_models()]
    )
    errors: list[checks.CheckMessage] = []
    for model in found:
        if issubclass(model, EncryptedModel):
            continue
        for field in (*model._meta.private_fields, *model._meta.concrete_fields):
            if isinstance(field, EncryptedField | BlindIndexField):
                errors.append(
                    checks.Error(
                        f"{model._meta.label} has encrypted fields but is not an EncryptedModel",
                        hint="subclass afspraak.crypto.fields.EncryptedModel (atomic saves)",
                        obj=field,
                        id="crypto.E001",
                    )
                )
    return errors

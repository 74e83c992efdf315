"""The ``sealed`` column: a row's one ciphertext, which takes ciphertext only."""

from typing import Any

from django.core import checks
from django.db import models
from django.db.models.lookups import Lookup

from afspraak.crypto.ciphertext import key_id_of, sealed_prefix
from afspraak.crypto.fields.context import write_keys
from afspraak.crypto.fields.refusals import PlaintextRefusedError, SerializationRefusedError
from afspraak.crypto.fields.row import EncryptedField, migration_path, row_spec, seal_row


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
        return name, migration_path(path), args, kwargs

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
        keys = write_keys(model_instance, spec.context.organization_id(model_instance))
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

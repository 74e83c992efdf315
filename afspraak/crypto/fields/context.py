"""Where a row belongs: the organization and the public id its encrypted values are bound to."""

from django.core import checks, exceptions
from django.db import models

from afspraak.crypto import keysets

# Where a save keeps the keys it checked once (``write_keys``), on the instance.
WRITE_KEYS = "_crypto_write_keys"


class RowContext:
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


def write_keys(instance: models.Model, organization_id: int) -> keysets.OrganizationKeys:
    """Return the keys to encrypt with, checked once per save of ``instance``."""
    keys = instance.__dict__.get(WRITE_KEYS)
    if keys is None or keys.organization_id != organization_id:
        keys = keysets.keys_for_writing(organization_id)
        instance.__dict__[WRITE_KEYS] = keys
    return keys


def check_row_context(field: models.Field, context: RowContext) -> list[checks.CheckMessage]:
    """Check that the field's model can tell each row's organization and public id."""
    model = field.model
    errors: list[checks.CheckMessage] = []
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

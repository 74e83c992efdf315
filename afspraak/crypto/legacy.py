"""The per-field format of encrypted values, from before rows were sealed whole (migrations).

Until migrations ``bookings/0007`` and ``tenancy/0005``, each encrypted field had a
column of its own, holding an ``afs1`` ciphertext of its value alone, bound to the
organization, the model, the field and the row (``field_associated_data``). An empty
text was stored as an empty string and ``None`` as ``NULL``, unencrypted. Those
migrations move every row from that format into its ``sealed`` column (and back, on
their way back); nothing else reads or writes it.

Rows are converted one organization at a time inside ``organization_context``: on
PostgreSQL the tables and the keysets are under forced row-level security, and the
role running migrations needs no BYPASSRLS. The keys come from the live
``afspraak.crypto.keysets`` module (the only reader of the organization keysets, which
needs the master key). A database without rows reads no key. An organization with rows
but no keysets stops the migration with ``MissingKeysetError``: run
``afspraak keys init-org SLUG``, then migrate again.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

import tink

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import (
    MalformedCiphertextError,
    field_associated_data,
    row_associated_data,
    seal,
    unseal,
)
from afspraak.crypto.errors import DecryptionError
from afspraak.crypto.tenants import organization_context

TEXT = "text"
JSON = "json"


def _encode(kind: str, value: Any) -> bytes:
    if kind == JSON:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return str(value).encode("utf-8")


def _decode(kind: str, plaintext: bytes) -> Any:
    text = plaintext.decode("utf-8")
    return json.loads(text) if kind == JSON else text


def _stored_as_is(kind: str, value: Any) -> bool:
    return value is None or (kind == TEXT and value == "")


def seal_field(
    keys: keysets.OrganizationKeys, label: str, name: str, kind: str, row_id: str, value: Any
) -> Any:
    """Return ``value`` as a per-field column stored it (ciphertext, or an empty value as is)."""
    if _stored_as_is(kind, value):
        return value
    associated_data = field_associated_data(keys.organization_public_id, label, name, row_id)
    return seal(keys.data, _encode(kind, value), associated_data)


def open_field(
    keys: keysets.OrganizationKeys, label: str, name: str, kind: str, row_id: str, stored: Any
) -> Any:
    """Return the value a per-field column holds; raise ``DecryptionError`` if it does not open."""
    if _stored_as_is(kind, stored):
        return stored
    associated_data = field_associated_data(keys.organization_public_id, label, name, row_id)
    try:
        return _decode(kind, unseal(keys.data, stored, associated_data))
    except (tink.TinkError, MalformedCiphertextError, ValueError):
        raise DecryptionError(
            f"{label}.{name} of row {row_id} does not decrypt in the per-field format: "
            "restore the row from a backup, then migrate again",
            organization_id=keys.organization_id,
            model=label,
            field=name,
            row_id=row_id,
        ) from None


def seal_values(
    keys: keysets.OrganizationKeys, label: str, values: dict[str, Any], row_id: str
) -> str:
    """Return the sealed-row ciphertext of ``values`` (the model's encrypted fields, by name)."""
    plaintext = json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    associated_data = row_associated_data(keys.organization_public_id, label, row_id)
    return seal(keys.data, plaintext, associated_data)


def open_values(
    keys: keysets.OrganizationKeys, label: str, names: list[str], row_id: str, text: str
) -> dict[str, Any]:
    """Return the values of a sealed row; raise ``DecryptionError`` if it does not open."""
    associated_data = row_associated_data(keys.organization_public_id, label, row_id)
    try:
        values = json.loads(unseal(keys.data, text, associated_data).decode("utf-8"))
    except (tink.TinkError, MalformedCiphertextError, ValueError):
        values = None
    # Fields added after this migration may be in the row too: only these must be.
    if not isinstance(values, dict) or not set(names) <= set(values):
        raise DecryptionError(
            f"{label} row {row_id} does not decrypt: restore it from a backup, then migrate again",
            organization_id=keys.organization_id,
            model=label,
            row_id=row_id,
        )
    return values


def _each_organizations_rows(
    apps: Any, schema_editor: Any, app_label: str, model_name: str
) -> Iterator[tuple[Any, keysets.OrganizationKeys, Any]]:
    """Yield each organization's queryset of the model, inside its context, with its keys."""
    organization_model = apps.get_model("tenancy", "Organization")
    model = apps.get_model(app_label, model_name)
    using = schema_editor.connection.alias
    for organization in organization_model.objects.using(using).order_by("pk"):
        with organization_context(organization, using=using):
            rows = model._base_manager.using(using).filter(organization_id=organization.pk)
            if not rows.exists():
                continue
            yield organization, keysets.keys_for_writing(organization.pk), rows.order_by("pk")


def seal_rows(app_label: str, model_name: str, fields: dict[str, str]) -> Callable[..., None]:
    """Return a RunPython function moving the per-field ``fields`` (name: kind) into ``sealed``."""
    label = f"{app_label}.{model_name}"

    def forwards(apps: Any, schema_editor: Any) -> None:
        for _, keys, rows in _each_organizations_rows(apps, schema_editor, app_label, model_name):
            for pk, row_id, *stored in rows.values_list("pk", "public_id", *fields):
                values = {
                    name: open_field(keys, label, name, kind, row_id, value)
                    for (name, kind), value in zip(fields.items(), stored, strict=True)
                }
                rows.filter(pk=pk).update(sealed=seal_values(keys, label, values, row_id))

    return forwards


def unseal_rows(app_label: str, model_name: str, fields: dict[str, str]) -> Callable[..., None]:
    """Return a RunPython function moving ``sealed`` back into the per-field columns."""
    label = f"{app_label}.{model_name}"

    def backwards(apps: Any, schema_editor: Any) -> None:
        for _, keys, rows in _each_organizations_rows(apps, schema_editor, app_label, model_name):
            for pk, row_id, text in rows.values_list("pk", "public_id", "sealed"):
                values = open_values(keys, label, list(fields), row_id, text)
                rows.filter(pk=pk).update(
                    **{
                        name: seal_field(keys, label, name, kind, row_id, values[name])
                        for name, kind in fields.items()
                    }
                )

    return backwards

"""How an encrypted value is written in a database column, and what it is bound to.

A stored value is text::

    afs1.<10 hex digits: Tink's 5-byte prefix>.<base64: 12-byte nonce, ciphertext, 16-byte tag>

The Tink prefix is ``01`` followed by the 4-byte id of the organization's data key
that encrypted the value (output prefix TINK), so SQL can tell which key a row uses
(``sealed_prefix``) without decrypting it. The prefix is not trusted: a wrong one
selects another key (or none) and the GCM tag fails.

A row of an ``EncryptedModel`` keeps all its encrypted values in one such value (its
``sealed`` column): a JSON object of field name to value, bound by the associated data
to where it belongs; NUL separates the parts, none of which can contain one::

    afspraak.row.v1 NUL <organization public id> NUL <app_label.model>
        NUL <field> NUL <field> … (the encrypted fields' names, sorted) NUL <row public id>

Before migrations ``bookings/0007`` and ``tenancy/0005`` each field had its own column
and ciphertext, bound to one field (``field_associated_data``, read by those
migrations through ``afspraak.crypto.legacy``)::

    afspraak.field.v1 NUL <organization public id> NUL <app_label.model> NUL <field>
        NUL <row public id>
"""

import base64
import binascii

from tink import aead

from afspraak.crypto.keyring import TINK_PREFIX_SIZE, tink_key_id

FORMAT = "afs1"
_SEPARATOR = "."
_FIELD_CONTEXT = b"afspraak.field.v1"
_ROW_CONTEXT = b"afspraak.row.v1"
_BLIND_INDEX_CONTEXT = b"afspraak.blind-index.v1"


class MalformedCiphertextError(ValueError):
    """The stored text is not in the ``afs1`` format."""


def seal(primitive: aead.Aead, plaintext: bytes, associated_data: bytes) -> str:
    """Encrypt ``plaintext`` and return it in the stored text format."""
    ciphertext = primitive.encrypt(plaintext, associated_data)
    if tink_key_id(ciphertext) is None:
        raise MalformedCiphertextError("data keys must use Tink's TINK output prefix")
    prefix, body = ciphertext[:TINK_PREFIX_SIZE], ciphertext[TINK_PREFIX_SIZE:]
    return f"{FORMAT}.{prefix.hex()}.{base64.b64encode(body).decode('ascii')}"


_PREFIX_END = len(FORMAT) + 1 + 2 * TINK_PREFIX_SIZE
SEALED_PREFIX_LENGTH = _PREFIX_END + 1


def ciphertext_bytes(text: str) -> bytes:
    """Return the Tink ciphertext that ``text`` holds."""
    if text[: len(FORMAT) + 1] != FORMAT + _SEPARATOR or text[_PREFIX_END : _PREFIX_END + 1] != (
        _SEPARATOR
    ):
        raise MalformedCiphertextError("not an afs1 ciphertext")
    try:
        return bytes.fromhex(text[len(FORMAT) + 1 : _PREFIX_END]) + binascii.a2b_base64(
            text[_PREFIX_END + 1 :], strict_mode=True
        )
    except (ValueError, binascii.Error):
        raise MalformedCiphertextError("not an afs1 ciphertext") from None


def unseal(primitive: aead.Aead, text: str, associated_data: bytes) -> bytes:
    """Decrypt stored ``text``; raise ``tink.TinkError`` or ``MalformedCiphertextError``."""
    return primitive.decrypt(ciphertext_bytes(text), associated_data)


def key_id_of(text: str) -> int | None:
    """Return the id of the key that encrypted stored ``text``, or None if it is malformed."""
    parts = text.split(_SEPARATOR, 2)
    if len(parts) != 3 or parts[0] != FORMAT:
        return None
    try:
        return tink_key_id(bytes.fromhex(parts[1]))
    except ValueError:
        return None


def sealed_prefix(key_id: int) -> str:
    """Return the text every value encrypted under data key ``key_id`` starts with."""
    return f"{FORMAT}.01{key_id:08x}."


def row_associated_data_head(organization_public_id: str) -> bytes:
    """Return the start of every sealed row's associated data in one organization."""
    return _ROW_CONTEXT + b"\x00" + organization_public_id.encode() + b"\x00"


def row_associated_data_middle(model_label: str) -> bytes:
    """Return the part of a row's associated data naming its model."""
    return model_label.encode() + b"\x00"


def row_associated_data(organization_public_id: str, model_label: str, row_public_id: str) -> bytes:
    """Return the associated data binding a sealed row to its organization, model and row.

    The field names are inside the sealed JSON, so authenticated with their values; they
    are not bound here, so adding or removing an encrypted field needs no re-sealing.
    """
    return (
        row_associated_data_head(organization_public_id)
        + row_associated_data_middle(model_label)
        + row_public_id.encode()
    )


def field_associated_data_head(organization_public_id: str) -> bytes:
    """Return the start of every field's associated data in one organization."""
    return _FIELD_CONTEXT + b"\x00" + organization_public_id.encode() + b"\x00"


def field_associated_data_middle(model_label: str, field_name: str) -> bytes:
    """Return the part of a field's associated data naming its model and field."""
    return model_label.encode() + b"\x00" + field_name.encode() + b"\x00"


def field_associated_data(
    organization_public_id: str, model_label: str, field_name: str, row_public_id: str
) -> bytes:
    """Return the associated data binding a value to its organization, model, field and row."""
    return (
        field_associated_data_head(organization_public_id)
        + field_associated_data_middle(model_label, field_name)
        + row_public_id.encode()
    )


def body_bytes(text: str) -> bytes:
    """Return the Tink ciphertext after its prefix, from stored ``text`` whose prefix is known.

    The caller has already matched ``text[:PREFIX_END + 1]`` against a key's
    ``sealed_prefix``; raise ``binascii.Error`` if the rest is not base64.
    """
    return binascii.a2b_base64(text[_PREFIX_END + 1 :], strict_mode=True)


def blind_index_input(model_label: str, field_name: str, normalized: str) -> bytes:
    """Return the PRF input for a blind index: the field's context, then the value."""
    return b"\x00".join(
        (_BLIND_INDEX_CONTEXT, model_label.encode(), field_name.encode(), normalized.encode())
    )


def keyset_associated_data(organization_public_id: str, purpose: str) -> bytes:
    """Return the associated data binding a wrapped keyset to its organization and purpose."""
    return b"\x00".join(
        (b"afspraak.organization-keyset.v1", organization_public_id.encode(), purpose.encode())
    )

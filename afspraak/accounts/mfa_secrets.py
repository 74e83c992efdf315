"""MFA secrets sealed to their owner: AES-256-GCM under the master keyset, with the owner's
public id in the associated data, so a secret copied onto another user's row never decrypts.

allauth hands the MFA adapter only the text to encrypt or decrypt, never the authenticator
it belongs to. The owner is therefore attached at the model's edges: a secret to be stored
stays in memory as an ``UnsealedSecret`` until the authenticator is saved, when it is sealed
for the authenticator's user; a stored secret is loaded as an ``OwnedCiphertext`` naming the
user of the row it was read from. Anything else is refused.
"""

import base64
from typing import Any

from allauth.core import context
from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied
from django.db.models.signals import post_init, pre_save
from django.dispatch import receiver

from afspraak.audit.context import context_of
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.crypto.errors import MasterKeyError
from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master

CIPHERTEXT_PREFIX = "tink2:"
# What a secret that was never sealed reads as, should one reach the database around
# ``save()`` (a bulk write): no secret, and nothing that decrypts.
_UNSEALED_PLACEHOLDER = CIPHERTEXT_PREFIX + "unsealed"


class MFASecretRejected(PermissionDenied):
    """A stored MFA secret is not sealed to the user whose authenticator holds it."""


class UnsealedSecret(str):
    """A secret allauth asked to encrypt, held until its authenticator is saved."""

    plaintext: str

    def __new__(cls, plaintext: str) -> "UnsealedSecret":
        unsealed = super().__new__(cls, _UNSEALED_PLACEHOLDER)
        unsealed.plaintext = plaintext
        return unsealed


class OwnedCiphertext(str):
    """A stored secret's ciphertext, with the id of the user whose row it was read from."""

    owner_id: int

    def __new__(cls, ciphertext: str, owner_id: int) -> "OwnedCiphertext":
        owned = super().__new__(cls, ciphertext)
        owned.owner_id = owner_id
        return owned


def associated_data(owner_public_id: str) -> bytes:
    """Return the associated data that binds an MFA secret to its owner."""
    return b"afspraak.mfa.authenticator.secret:" + owner_public_id.encode()


def seal_secret(plaintext: str, owner_public_id: str) -> str:
    """Encrypt ``plaintext`` for the user with ``owner_public_id``."""
    ciphertext = encrypt_with_master(plaintext.encode(), associated_data(owner_public_id))
    return CIPHERTEXT_PREFIX + base64.b64encode(ciphertext).decode("ascii")


def open_secret(stored: str) -> str:
    """Return the plaintext of ``stored``, or raise ``MFASecretRejected`` if its owner differs."""
    if isinstance(stored, UnsealedSecret):
        return stored.plaintext
    if not isinstance(stored, OwnedCiphertext) or not stored.startswith(CIPHERTEXT_PREFIX):
        raise MFASecretRejected("This second factor cannot be used.")
    # Imported here: the accounts models import the middleware, which imports allauth's models.
    from afspraak.accounts.models import User

    owner = User.objects.filter(pk=stored.owner_id).first()
    try:
        ciphertext = base64.b64decode(stored.removeprefix(CIPHERTEXT_PREFIX), validate=True)
        if owner is None:
            raise ValueError("the authenticator's user no longer exists")
        return decrypt_with_master(ciphertext, associated_data(owner.public_id)).decode()
    except (ValueError, MasterKeyError) as error:
        if isinstance(error, MasterKeyError) and error.details.get("reason") != "not_authentic":
            raise
        # The row's ciphertext was made for someone else, or altered: the factor is
        # refused (a 403), never used, and the refusal is audited.
        record(
            "accounts.mfa.secret_rejected",
            actor=None,
            outcome=Outcome.DENIED,
            target=owner,
            context=context_of(context.request),
            data={"reason": "not_sealed_to_this_user"},
        )
        raise MFASecretRejected("This second factor cannot be used.") from None


def _map_secrets(data: Any, convert: Any) -> None:
    """Apply ``convert`` to every string, and string in a list, of ``data`` in place."""
    if not isinstance(data, dict):
        return
    for key, value in data.items():
        if isinstance(value, str):
            data[key] = convert(value)
        elif isinstance(value, list):
            data[key] = [convert(item) if isinstance(item, str) else item for item in value]


@receiver(post_init, sender=Authenticator)
def attach_owner(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    """Mark each stored ciphertext of a loaded authenticator with the row's user."""
    # A deferred field is not in __dict__: reading it here would cost a query per row.
    if "data" not in instance.__dict__ or instance.__dict__.get("user_id") is None:
        return
    owner_id = instance.user_id

    def own(value: str) -> str:
        if value.startswith(CIPHERTEXT_PREFIX) and not isinstance(value, UnsealedSecret):
            return OwnedCiphertext(value, owner_id)
        return value

    _map_secrets(instance.data, own)


@receiver(pre_save, sender=Authenticator)
def seal_for_owner(sender: Any, instance: Authenticator, **kwargs: Any) -> None:
    """Seal every secret allauth encrypted for this authenticator to its user."""
    owner_public_id = instance.user.public_id
    owner_id = instance.user_id

    def seal(value: str) -> str:
        if isinstance(value, UnsealedSecret):
            return OwnedCiphertext(seal_secret(value.plaintext, owner_public_id), owner_id)
        return value

    _map_secrets(instance.data, seal)

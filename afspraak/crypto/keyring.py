"""The master keyset (key-encryption key) and the AEAD primitives derived from it (control D1).

The embedded provider keeps the master keyset as a Tink JSON keyset in a file that
only its owner may read. Anything wrong with that file — missing, readable by
others, not a keyset — raises ``MasterKeyError``: the application stops instead of
running without its key (fail closed).
"""

import os
import stat
from functools import lru_cache
from pathlib import Path

import tink
from django.conf import settings
from tink import aead, secret_key_access

aead.register()


class MasterKeyError(Exception):
    """The master keyset cannot be used; the message tells the operator what to do."""


def create_master_keyset(path: Path) -> bool:
    """Write a new AES-256-GCM master keyset to ``path`` (mode 0600) unless one exists there."""
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
    serialized = tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as keyset_file:
        keyset_file.write(serialized)
    return True


def load_master_keyset(path: Path) -> tink.KeysetHandle:
    """Read the master keyset from ``path``, refusing a file that others can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MasterKeyError(
            f"master keyset {path} is missing: restore it from your key backup "
            "(or run `afspraak setup` for a new embedded installation)"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"master keyset {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(mode):04o}): run `chmod 600 {path}`"
        )
    try:
        return tink.json_proto_keyset_format.parse(
            path.read_text(encoding="utf-8"), secret_key_access.TOKEN
        )
    except (tink.TinkError, ValueError, OSError) as error:
        raise MasterKeyError(
            f"master keyset {path} cannot be read as a Tink keyset: {error}"
        ) from None


@lru_cache(maxsize=1)
def master_aead() -> aead.Aead:
    """Return the AEAD primitive of the configured master keyset."""
    handle = load_master_keyset(Path(settings.AFSPRAAK_MASTER_KEYSET_FILE))
    try:
        return handle.primitive(aead.Aead)
    except tink.TinkError as error:
        raise MasterKeyError(f"master keyset is not an AEAD keyset: {error}") from None


def encrypt_with_master(plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` under the master keyset, bound to ``associated_data``."""
    return master_aead().encrypt(plaintext, associated_data)


def decrypt_with_master(ciphertext: bytes, associated_data: bytes) -> bytes:
    """Decrypt what ``encrypt_with_master`` made; raise ``MasterKeyError`` if not authentic."""
    try:
        return master_aead().decrypt(ciphertext, associated_data)
    except tink.TinkError:
        raise MasterKeyError(
            "a value did not authenticate under the master keyset: the key is wrong "
            "or the stored value was altered"
        ) from None

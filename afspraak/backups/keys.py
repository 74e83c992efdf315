"""The backup keyset: Tink Streaming AEAD (AES256_GCM_HKDF_1MB), wrapped by the master key.

It is created once and kept in a file, wrapped (``AFSPRAAK_BACKUP_KEYSET_FILE``); every
manifest carries the same wrapped copy, so a backup restores on a new machine with the
master key alone. The master key itself never goes to a backup location
(docs/runbooks/backups.md says where it goes instead).
"""

import base64
import os
from pathlib import Path

import tink
from django.conf import settings
from tink import secret_key_access, streaming_aead

from afspraak.backups.errors import BackupError
from afspraak.crypto.errors import MasterKeyError
from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master

streaming_aead.register()

_WRAPPING_CONTEXT = b"afspraak backup keyset"


def wrapped_backup_keyset() -> str:
    """Return the backup keyset wrapped by the master key (base64), creating it once."""
    path: Path = settings.AFSPRAAK_BACKUP_KEYSET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    handle = tink.new_keyset_handle(streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB)
    serialized = tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    wrapped = base64.b64encode(encrypt_with_master(serialized, _WRAPPING_CONTEXT)).decode()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another run created it first: use theirs, so every backup shares one keyset.
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(descriptor, "w", encoding="ascii") as keyset_file:
        keyset_file.write(wrapped)
        keyset_file.flush()
        os.fsync(keyset_file.fileno())
    return wrapped


def streaming_primitive(wrapped: str) -> streaming_aead.StreamingAead:
    """Unwrap a backup keyset with the master key and return its Streaming AEAD."""
    try:
        serialized = decrypt_with_master(
            base64.b64decode(wrapped, validate=True), _WRAPPING_CONTEXT
        )
        handle = tink.proto_keyset_format.parse(serialized, secret_key_access.TOKEN)
    except (MasterKeyError, ValueError, tink.TinkError) as error:
        raise BackupError(
            f"the backup keyset cannot be unwrapped with this master key: {error}"
        ) from None
    return handle.primitive(streaming_aead.StreamingAead)

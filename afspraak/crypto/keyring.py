"""The master keyset (key-encryption key) and the AEAD primitives derived from it (control D1).

Two providers:

- a Tink JSON keyset in a file only its owner may read: ``var/keys/master.json`` in
  the embedded mode, or the file ``AFSPRAAK_MASTER_KEYSET_FILE`` names. The keyset
  may hold several AES256_GCM keys: the primary encrypts, all of them decrypt, which
  is how ``afspraak keys rotate-master`` rotates it. The file is checked on every use
  (a cheap ``stat``), so a rotated, retired or removed key takes effect at once in
  every process of the machine.
- a cloud KMS key through Tink's KMS integration, selected by
  ``AFSPRAAK_MASTER_KEY_URI`` (``aws-kms://arn:aws:kms:…``). The KMS keeps and
  rotates its own key material; Afspraak never sees it.

Anything wrong raises ``MasterKeyError``: the application stops instead of running
without its key (fail closed).
"""

import fcntl
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import tink
from django.conf import settings
from tink import aead, secret_key_access
from tink.proto import tink_pb2

from afspraak.crypto.errors import MasterKeyError

__all__ = [
    "MasterKeyError",
    "MasterKeyring",
    "add_master_key",
    "create_master_keyset",
    "decrypt_with_master",
    "encrypt_with_master",
    "forget_master_keyring",
    "load_master_keyset",
    "master_keyring",
    "remove_master_key",
]

aead.register()

TINK_PREFIX_SIZE = 5
_TINK_START_BYTE = 0x01
AWS_KMS_SCHEME = "aws-kms://"


def tink_key_id(ciphertext: bytes) -> int | None:
    """Return the key id in a Tink ciphertext's 5-byte prefix, or None if it has none."""
    if len(ciphertext) < TINK_PREFIX_SIZE or ciphertext[0] != _TINK_START_BYTE:
        return None
    return int.from_bytes(ciphertext[1:TINK_PREFIX_SIZE], "big")


class MasterKeyring(Protocol):
    """What the rest of the application needs from a master key provider."""

    @property
    def description(self) -> str: ...

    @property
    def primary_key_id(self) -> str: ...

    @property
    def key_ids(self) -> tuple[str, ...]: ...

    @property
    def can_rotate(self) -> bool: ...

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes: ...

    def key_id_of(self, ciphertext: bytes) -> str | None: ...


# --- The keyset file --------------------------------------------------------------------------


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


def _checked_stat(path: Path) -> os.stat_result:
    """Return the file's status, refusing a missing file or one that others can access."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise MasterKeyError(
            f"master keyset {path} is missing: restore it from your key backup "
            "(or run `afspraak setup` for a new embedded installation)",
            path=str(path),
            reason="missing",
        ) from None
    except OSError as error:
        raise MasterKeyError(
            f"master keyset {path} cannot be read: {error.strerror}",
            path=str(path),
            reason="unreadable",
        ) from None
    if status.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"master keyset {path} is accessible by group or others "
            f"(mode {stat.S_IMODE(status.st_mode):04o}): run `chmod 600 {path}`",
            path=str(path),
            reason="permissions",
        )
    return status


def load_master_keyset(path: Path) -> tink.KeysetHandle:
    """Read the master keyset from ``path``, refusing a file that others can read."""
    _checked_stat(path)
    try:
        handle = tink.json_proto_keyset_format.parse(
            path.read_text(encoding="utf-8"), secret_key_access.TOKEN
        )
    except (tink.TinkError, ValueError, OSError) as error:
        raise MasterKeyError(
            f"master keyset {path} cannot be read as a Tink keyset: {error}",
            path=str(path),
            reason="not_a_keyset",
        ) from None
    return handle


def keyset_proto(handle: tink.KeysetHandle) -> tink_pb2.Keyset:
    """Return a mutable copy of the keyset behind ``handle`` (secret material included)."""
    return tink_pb2.Keyset.FromString(
        tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    )


def keyset_handle(keyset: tink_pb2.Keyset) -> tink.KeysetHandle:
    """Return a handle for ``keyset``; Tink validates it on the way."""
    return tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)


def with_new_primary_key(
    handle: tink.KeysetHandle, template: tink_pb2.KeyTemplate
) -> tuple[tink.KeysetHandle, int]:
    """Return ``handle`` plus one fresh key made primary, and that key's id."""
    keyset = keyset_proto(handle)
    used = {key.key_id for key in keyset.key}
    while True:
        fresh = keyset_proto(tink.new_keyset_handle(template)).key[0]
        if fresh.key_id not in used:
            break
    keyset.key.append(fresh)
    keyset.primary_key_id = fresh.key_id
    return keyset_handle(keyset), fresh.key_id


def without_keys(handle: tink.KeysetHandle, key_ids: set[int]) -> tink.KeysetHandle:
    """Return ``handle`` without the keys ``key_ids`` (never the primary)."""
    keyset = keyset_proto(handle)
    if keyset.primary_key_id in key_ids:
        raise ValueError("the primary key cannot be removed")
    kept = [key for key in keyset.key if key.key_id not in key_ids]
    del keyset.key[:]
    keyset.key.extend(kept)
    return keyset_handle(keyset)


@contextmanager
def _keyset_file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``path`` so two rotations never interleave."""
    lock_path = path.with_name(path.name + ".lock")
    descriptor = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _replace_keyset_file(path: Path, handle: tink.KeysetHandle) -> None:
    """Write ``handle`` to ``path`` atomically, mode 0600, durable before it is visible."""
    serialized = tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as keyset_file:
        keyset_file.write(serialized)
        keyset_file.flush()
        os.fsync(keyset_file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def add_master_key(path: Path) -> int:
    """Add a new AES-256-GCM key to the keyset file and make it primary; return its id."""
    with _keyset_file_lock(path):
        handle, key_id = with_new_primary_key(
            load_master_keyset(path), aead.aead_key_templates.AES256_GCM
        )
        try:
            _replace_keyset_file(path, handle)
        except OSError as error:
            raise MasterKeyError(
                f"master keyset {path} cannot be rewritten: {error.strerror}",
                path=str(path),
                reason="read_only",
            ) from None
    return key_id


def remove_master_key(path: Path, key_id: int) -> None:
    """Remove key ``key_id`` (not the primary) from the keyset file."""
    with _keyset_file_lock(path):
        handle = load_master_keyset(path)
        keyset = keyset_proto(handle)
        if key_id not in {key.key_id for key in keyset.key}:
            raise MasterKeyError(f"master keyset {path} holds no key {key_id}", key_id=key_id)
        if key_id == keyset.primary_key_id:
            raise MasterKeyError(
                f"master key {key_id} is the primary key: rotate first", key_id=key_id
            )
        _replace_keyset_file(path, without_keys(handle, {key_id}))


@dataclass(frozen=True)
class _FileKeyring:
    """A master keyring backed by a Tink keyset file."""

    path: Path
    signature: tuple[int, int, int, int]
    primitive: aead.Aead
    primary_key_id: str
    key_ids: tuple[str, ...]
    can_rotate: bool = True

    @property
    def description(self) -> str:
        return f"keyset file {self.path}"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        return self.primitive.encrypt(plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        return self.primitive.decrypt(ciphertext, associated_data)

    def key_id_of(self, ciphertext: bytes) -> str | None:
        key_id = tink_key_id(ciphertext)
        return None if key_id is None else str(key_id)


def _file_signature(status: os.stat_result) -> tuple[int, int, int, int]:
    return (status.st_ino, status.st_mtime_ns, status.st_size, status.st_mode)


def _open_file_keyring(path: Path) -> _FileKeyring:
    status = _checked_stat(path)
    handle = load_master_keyset(path)
    try:
        primitive = handle.primitive(aead.Aead)
    except tink.TinkError as error:
        raise MasterKeyError(
            f"master keyset {path} is not an AEAD keyset: {error}",
            path=str(path),
            reason="not_aead",
        ) from None
    info = handle.keyset_info()
    return _FileKeyring(
        path=path,
        signature=_file_signature(status),
        primitive=primitive,
        primary_key_id=str(info.primary_key_id),
        key_ids=tuple(str(key.key_id) for key in info.key_info),
    )


# --- A cloud KMS --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KmsKeyring:
    """A master keyring whose one key lives in a cloud KMS (it rotates its material itself)."""

    uri: str
    primitive: aead.Aead
    can_rotate: bool = False

    @property
    def description(self) -> str:
        return f"KMS key {self.uri}"

    @property
    def primary_key_id(self) -> str:
        return self.uri

    @property
    def key_ids(self) -> tuple[str, ...]:
        return (self.uri,)

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        return self.primitive.encrypt(plaintext, associated_data)

    def decrypt(self, ciphertext: bytes, associated_data: bytes) -> bytes:
        return self.primitive.decrypt(ciphertext, associated_data)

    def key_id_of(self, ciphertext: bytes) -> str | None:
        return None


def _open_kms_keyring(uri: str, credentials_file: str) -> _KmsKeyring:
    """Return the KMS AEAD for ``uri``: a registered Tink KMS client's, else AWS KMS's."""
    try:
        client = tink.kms_client_from_uri(uri)
    except tink.TinkError:
        client = None
    if client is None:
        if not uri.startswith(AWS_KMS_SCHEME):
            raise MasterKeyError(
                f"AFSPRAAK_MASTER_KEY_URI {uri!r} names no supported KMS: "
                f"use an AWS KMS key URI ({AWS_KMS_SCHEME}arn:aws:kms:REGION:ACCOUNT:key/ID)",
                reason="unsupported_kms",
            )
        try:
            from tink.integration import awskms
        except ImportError:
            raise MasterKeyError(
                "AFSPRAAK_MASTER_KEY_URI selects AWS KMS, but Tink's AWS KMS integration is "
                "not installed: install the `tink[awskms]` extra (it brings boto3), or unset "
                "AFSPRAAK_MASTER_KEY_URI to use the master keyset file",
                reason="kms_integration_missing",
            ) from None
        try:
            client = awskms.AwsKmsClient(uri, credentials_file or None)
        except (tink.TinkError, ValueError) as error:
            raise MasterKeyError(
                f"AWS KMS client for {uri} cannot be set up: {error}", reason="kms_config"
            ) from None
    try:
        return _KmsKeyring(uri=uri, primitive=client.get_aead(uri))
    except tink.TinkError as error:
        raise MasterKeyError(f"KMS key {uri} cannot be used: {error}", reason="kms") from None


# --- The process-wide keyring -------------------------------------------------------------------

_lock = threading.Lock()
_current: MasterKeyring | None = None


def master_keyring() -> MasterKeyring:
    """Return the configured master keyring, reloading a keyset file that changed."""
    global _current
    uri = getattr(settings, "AFSPRAAK_MASTER_KEY_URI", "")
    with _lock:
        current = _current
        if uri:
            if not isinstance(current, _KmsKeyring) or current.uri != uri:
                current = _open_kms_keyring(
                    uri, getattr(settings, "AFSPRAAK_MASTER_KEY_CREDENTIALS_FILE", "")
                )
        else:
            path = Path(settings.AFSPRAAK_MASTER_KEYSET_FILE)
            signature = _file_signature(_checked_stat(path))
            if (
                not isinstance(current, _FileKeyring)
                or current.path != path
                or current.signature != signature
            ):
                current = _open_file_keyring(path)
        _current = current
        return current


def forget_master_keyring() -> None:
    """Forget the master keyring: the next use loads it again."""
    global _current
    with _lock:
        _current = None


def encrypt_with_master(plaintext: bytes, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` under the master keyset, bound to ``associated_data``."""
    return master_keyring().encrypt(plaintext, associated_data)


def decrypt_with_master(ciphertext: bytes, associated_data: bytes) -> bytes:
    """Decrypt what ``encrypt_with_master`` made; raise ``MasterKeyError`` if not authentic."""
    keyring = master_keyring()
    try:
        return keyring.decrypt(ciphertext, associated_data)
    except tink.TinkError:
        raise MasterKeyError(
            "a value did not authenticate under the master keyset: the key is wrong "
            "or the stored value was altered",
            reason="not_authentic",
            key_id=keyring.key_id_of(ciphertext) or "",
        ) from None

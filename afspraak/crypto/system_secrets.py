"""Secrets of the whole installation, each made once, kept sealed under the master key.

``system_secret("audit.chain")`` returns the 32 random bytes that key the audit trail's
hash chain; the first call makes and stores them. They live only sealed (bound to their
purpose) in ``SystemSecret``, and in this process's memory once read.
"""

import secrets
import threading
from collections import Counter

from django.db import IntegrityError, transaction

from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master, master_keyring
from afspraak.crypto.models import SystemSecret

SECRET_BYTES = 32

_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def _associated_data(purpose: str) -> bytes:
    return f"afspraak.system-secret:{purpose}".encode()


def _seal(purpose: str, value: bytes) -> tuple[bytes, str]:
    sealed = encrypt_with_master(value, _associated_data(purpose))
    return sealed, master_keyring().key_id_of(sealed) or master_keyring().primary_key_id


def system_secret(purpose: str) -> bytes:
    """Return the installation's secret for ``purpose``, making it on first use."""
    with _lock:
        cached = _cache.get(purpose)
    if cached is not None:
        return cached
    row = SystemSecret.objects.filter(purpose=purpose).first()
    if row is None:
        value = secrets.token_bytes(SECRET_BYTES)
        sealed, key_id = _seal(purpose, value)
        try:
            with transaction.atomic():
                SystemSecret.objects.create(purpose=purpose, sealed=sealed, master_key_id=key_id)
        except IntegrityError:
            # Another process made it first: use theirs.
            row = SystemSecret.objects.get(purpose=purpose)
    if row is not None:
        value = decrypt_with_master(bytes(row.sealed), _associated_data(row.purpose))
    with _lock:
        _cache[purpose] = value
    return value


def forget_system_secrets() -> None:
    """Drop the secrets read into memory (tests, and after a restore)."""
    with _lock:
        _cache.clear()


def check_system_secrets() -> None:
    """Unseal every stored secret once; raise ``MasterKeyError`` when one cannot be."""
    for row in SystemSecret.objects.all():
        decrypt_with_master(bytes(row.sealed), _associated_data(row.purpose))


def reseal_system_secrets() -> int:
    """Seal every secret not yet under the master primary key again under it; return how many."""
    primary = master_keyring().primary_key_id
    count = 0
    for row in SystemSecret.objects.select_for_update().exclude(master_key_id=primary):
        value = decrypt_with_master(bytes(row.sealed), _associated_data(row.purpose))
        row.sealed, row.master_key_id = _seal(row.purpose, value)
        row.save(update_fields=["sealed", "master_key_id"])
        count += 1
    return count


def system_secret_key_usage() -> Counter[str]:
    """Count the secrets sealed under each master key id."""
    return Counter(SystemSecret.objects.values_list("master_key_id", flat=True))

"""What goes wrong with keys and ciphertexts (fail closed, control D1).

Every failure is a ``CryptoError``: the operation stops, nothing is returned in
place of the value and nothing is written over it. Messages name keys, rows and
files by their ids, never a decrypted value, so they are safe in logs and error
reports. ``afspraak.crypto.reporting`` logs a failure and turns it into one audit
event (which the SIEM log stream carries as an alert). This module imports nothing of
the project: every crypto module may raise these.
"""

from typing import Any


class CryptoError(Exception):
    """A key or a stored value cannot be used; the message tells the operator what to do."""

    audit_action = "crypto.failure"

    def __init__(self, message: str, *, organization_id: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.organization_id = organization_id
        self.details = details
        self.logged = False
        self.reported = False


class MasterKeyError(CryptoError):
    """The master keyset cannot be used (missing, readable by others, wrong, not a keyset)."""

    audit_action = "crypto.master_key.unavailable"


class MissingKeysetError(CryptoError):
    """An organization has no keyset for the purpose asked for."""

    audit_action = "crypto.keyset.missing"


class DecryptionError(CryptoError):
    """A stored ciphertext did not authenticate under its organization's keys."""

    audit_action = "crypto.decryption.failed"

"""The pseudonym of the address a failed login tried: a keyed hash, never the address.

A failed login may name anyone's address, or one with no account at all, so the audit
trail must not hold it (personal data, control D2). The credential-stuffing rule still
needs to tell one person mistyping their own address from an attacker trying many: it
counts distinct pseudonyms per source. The hash is keyed with an installation secret
sealed by the master key (``afspraak.crypto.system_secrets``), so nobody holding only the
trail, or the SIEM's copy, can test a guessed address against it.
"""

import hashlib
import hmac

from afspraak.crypto.system_secrets import system_secret

LOGIN_IDENTITY_PURPOSE = "accounts.login_identity"
# 16 bytes of HMAC-SHA256 keep addresses apart and are no help to a guesser without the key.
LOGIN_IDENTITY_BYTES = 16


def login_identity(address: str) -> str:
    """Return the pseudonym of ``address``, a normalised e-mail address a login tried."""
    digest = hmac.new(system_secret(LOGIN_IDENTITY_PURPOSE), address.encode(), hashlib.sha256)
    return digest.digest()[:LOGIN_IDENTITY_BYTES].hex()

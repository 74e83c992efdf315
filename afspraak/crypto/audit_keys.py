"""What the crypto app gives the audit trail: its chain key and source pseudonyms.

The audit app sits below crypto (``docs/architecture.md``, Layers), so crypto hands it
these at start-up (``CryptoConfig.ready``).
"""

from typing import Any

from afspraak.crypto import keysets
from afspraak.crypto.system_secrets import system_secret
from afspraak.crypto.tenants import organization_context

CHAIN_KEY_PURPOSE = "audit.chain"
# 16 bytes of HMAC-SHA256 keep sources apart and are no help to a guesser.
PSEUDONYM_BYTES = 16


def chain_key() -> bytes:
    """Return the audit chain's HMAC key (a system secret sealed by the master key)."""
    return system_secret(CHAIN_KEY_PURPOSE)


def source_pseudonym(organization: Any, text: str) -> str:
    """Return a keyed hash of ``text`` under the organization's primary index (PRF) key."""
    with organization_context(organization):
        keys = keysets.keys_for_reading(organization.pk)
        data = f"afspraak.audit.source:{text}".encode()
        return bytes(keys.index.primary().compute(data, PSEUDONYM_BYTES)).hex()

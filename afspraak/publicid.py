"""Random public identifiers: what URLs and the API show instead of database ids."""

import secrets

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_public_id(prefix: str) -> str:
    """Return ``prefix_`` followed by 20 random base32 characters (100 bits)."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(20))

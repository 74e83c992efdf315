"""Pseudonyms for the sources of anonymous visitors' and invitees' events (control D2).

A member's events keep their address and browser (they are the account's security log).
An invitee or visitor is not an account: their address and User-Agent are personal data
of the organization's customer, so ``record`` keeps only a keyed hash of them under that
organization's own index key, which the crypto app provides at start-up. Deleting the
organization destroys the key, and with it any way to link the hash to a person; the
audit chain still verifies, since the hash itself never changes.
"""

from collections.abc import Callable
from typing import Any

Pseudonymiser = Callable[[Any, str], str]
_providers: list[Pseudonymiser] = []


class PseudonymiserMissingError(RuntimeError):
    """No pseudonymiser was provided (the crypto app provides it when it starts)."""


def provide_pseudonymiser(pseudonymise: Pseudonymiser) -> None:
    """Have ``pseudonymise(organization, text)`` make source pseudonyms."""
    _providers[:] = [pseudonymise]


def source_pseudonym(organization: Any, ip_address: str | None, user_agent: str) -> str:
    """Return the pseudonym of an anonymous source (address and browser) in ``organization``."""
    if not _providers:
        raise PseudonymiserMissingError("no source pseudonymiser has been provided")
    return _providers[0](organization, f"{ip_address or ''}|{user_agent}")

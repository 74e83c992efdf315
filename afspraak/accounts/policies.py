"""What higher apps tell the accounts app about a user, registered at start-up.

The accounts app sits below tenancy (``docs/architecture.md``, Layers), so it cannot ask
about organizations itself. The tenancy app registers here whether a user's
organizations require MFA and which of their names a password must not be built on.
"""

from collections.abc import Callable
from typing import Any

_mfa_requirements: dict[str, Callable[[Any], bool]] = {}
_context_word_sources: dict[str, Callable[[Any], list[str]]] = {}


def register_mfa_requirement(name: str, requirement: Callable[[Any], bool]) -> None:
    """Have ``requirement(user)`` decide, besides staff status, that a user must have MFA."""
    _mfa_requirements[name] = requirement


def register_context_words(name: str, source: Callable[[Any], list[str]]) -> None:
    """Have ``source(user)`` add words a user's password must not be built on."""
    _context_word_sources[name] = source


def mfa_required_by_policy(user: Any) -> bool:
    """Tell whether a registered requirement (an organization's setting) asks ``user`` for MFA."""
    return any(requirement(user) for requirement in _mfa_requirements.values())


def registered_context_words(user: Any) -> list[str]:
    """Return the words the registered sources give for ``user``."""
    return [word for source in _context_word_sources.values() for word in source(user)]

"""The ``{% avatar user %}`` tag: a user's picture, or their initials in a circle."""

from typing import Any

from django import template

from afspraak.accounts.avatars import avatar_url
from afspraak.accounts.models import User

register = template.Library()


def initials_of(user: User) -> str:
    """Return up to two letters for the user: of their first and last name, or their e-mail."""
    words = user.full_name.split() or [user.email]
    letters = words[0][0] + (words[-1][0] if len(words) > 1 else "")
    return letters.upper()


@register.inclusion_tag("accounts/_avatar.html")
def avatar(user: Any, size: str = "small") -> dict[str, Any]:
    """Render the user's avatar, beside their name (so it says nothing to a screen reader)."""
    if not isinstance(user, User):
        return {}
    return {"url": avatar_url(user), "initials": initials_of(user), "size": size}

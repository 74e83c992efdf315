from allauth.usersessions.models import UserSession
from django import template

from afspraak.accounts.sessions import session_token

register = template.Library()


@register.filter
def end_token(session: UserSession) -> str:
    """Return the token that names ``session`` in its "end session" form."""
    return session_token(session)

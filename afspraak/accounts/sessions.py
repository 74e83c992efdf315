"""Ending one of a user's own sessions from the sessions page."""

from allauth.usersessions.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.core import signing

from afspraak.accounts.models import User

_SALT = "afspraak.accounts.end-session"


def session_token(session: UserSession) -> str:
    """Return the token naming ``session`` in its owner's "end session" form (no database id)."""
    return signing.dumps(session.pk, salt=f"{_SALT}:{session.user_id}")


def get_user_session_for(user: User, token: str) -> UserSession | None:
    """Return ``user``'s own session named by ``token``; None for a bad token or another's."""
    try:
        session_id = signing.loads(token, salt=f"{_SALT}:{user.pk}")
    except signing.BadSignature:
        return None
    return UserSession.objects.filter(user=user, pk=session_id).first()


def end_user_session(session: UserSession) -> None:
    """End ``session`` at once, through the audited sessions adapter."""
    get_adapter().end_sessions([session])

"""A user's sessions: ending one from the sessions page, and whether one used a second factor."""

from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.usersessions.adapter import get_adapter
from allauth.usersessions.models import UserSession
from django.core import signing
from django.http import HttpRequest

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


def session_used_second_factor(request: HttpRequest) -> bool:
    """Tell whether this session's login went through a second factor (not a password alone)."""
    steps = request.session.get(AUTHENTICATION_METHODS_SESSION_KEY) or []
    return any(isinstance(step, dict) and step.get("method") == "mfa" for step in steps)

"""Apply organizations' security settings at login."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import signals as auth_signals
from django.dispatch import receiver
from django.utils import timezone

from afspraak.tenancy.access import organization_session_limit_hours
from afspraak.tenancy.pending_invitations import accept_invitations_at_login

# Before the session lifetime below: joining may bring an organization's own limit.
auth_signals.user_logged_in.connect(accept_invitations_at_login, dispatch_uid="invitations")


@receiver(auth_signals.user_logged_in)
def shorten_session_for_organizations(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """End the new session by the shortest lifetime any of the user's organizations sets.

    Only ever shortens: the platform's own lifetime (set at login by the accounts app)
    stays when it ends sooner. ``organization_view`` enforces the same limit on every
    organization page, so a setting changed later applies to sessions already open.
    """
    hours = organization_session_limit_hours(user)
    session = getattr(request, "session", None)
    if not hours or session is None:
        return
    limit = timezone.now() + timedelta(hours=hours)
    if session.get_expiry_date() > limit:
        session.set_expiry(limit)

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from afspraak.accounts.models import User
from afspraak.accounts.sessions import end_user_session, get_user_session_for


@login_required
@require_POST
def end_session(request: HttpRequest) -> HttpResponse:
    """End one of the user's own sessions (any other session is refused alike)."""
    user = cast(User, request.user)
    session = get_user_session_for(user, request.POST.get("session", ""))
    if session is None:
        messages.error(request, "That session does not exist or has already ended.")
        return redirect("usersessions_list")
    was_current = session.is_current()
    end_user_session(session)
    if was_current:
        return redirect("account_login")
    messages.success(request, "The session has ended.")
    return redirect("usersessions_list")

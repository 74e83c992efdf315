from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from afspraak.accounts.forms import ProfileForm
from afspraak.accounts.models import User
from afspraak.accounts.profile import update_profile
from afspraak.accounts.sessions import end_user_session, get_user_session_for
from afspraak.audit.context import AuditContext


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Show and change the user's own profile: the name others see."""
    user = cast(User, request.user)
    form = ProfileForm(request.POST or None, initial={"full_name": user.full_name})
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "accounts/profile.html", {"form": form}, status=400)
        changed = update_profile(
            user,
            full_name=form.cleaned_data["full_name"],
            context=AuditContext.from_request(request),
        )
        messages.success(request, "Your name is saved." if changed else "Nothing changed.")
        return redirect("account_profile")
    return render(request, "accounts/profile.html", {"form": form})


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

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from afspraak.accounts.avatars import (
    MAX_AVATAR_BYTES,
    avatar_version,
    remove_avatar,
    set_avatar,
)
from afspraak.accounts.forms import AvatarForm, ProfileForm
from afspraak.accounts.models import User, UserAvatar
from afspraak.accounts.profile import update_profile
from afspraak.accounts.sessions import end_user_session, get_user_session_for
from afspraak.audit.context import AuditContext
from afspraak.errors import NotFoundError
from afspraak.images import ImageError, image_response


def _profile_page(
    request: HttpRequest,
    *,
    form: ProfileForm | None = None,
    avatar_form: AvatarForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = cast(User, request.user)
    context = {
        "form": form or ProfileForm(initial={"full_name": user.full_name}),
        "avatar_form": avatar_form or AvatarForm(),
    }
    return render(request, "accounts/profile.html", context, status=status)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """Show and change the user's own profile: the name others see."""
    user = cast(User, request.user)
    if request.method != "POST":
        return _profile_page(request)
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, form=form, status=400)
    changed = update_profile(
        user,
        full_name=form.cleaned_data["full_name"],
        context=AuditContext.from_request(request),
    )
    messages.success(request, "Your name is saved." if changed else "Nothing changed.")
    return redirect("account_profile")


@login_required
@require_POST
def upload_avatar(request: HttpRequest) -> HttpResponse:
    """Set or replace the user's own avatar with the uploaded picture."""
    form = AvatarForm(request.POST, request.FILES)
    if not form.is_valid():
        return _profile_page(request, avatar_form=form, status=400)
    # Read one byte more than allowed, so an oversized file is refused unread.
    data = form.cleaned_data["picture"].read(MAX_AVATAR_BYTES + 1)
    try:
        set_avatar(cast(User, request.user), data, context=AuditContext.from_request(request))
    except ImageError as error:
        form.add_error("picture", str(error))
        return _profile_page(request, avatar_form=form, status=error.status)
    messages.success(request, "Your picture is saved.")
    return redirect("account_profile")


@login_required
@require_POST
def delete_avatar(request: HttpRequest) -> HttpResponse:
    """Remove the user's own avatar; their initials show instead."""
    removed = remove_avatar(cast(User, request.user), context=AuditContext.from_request(request))
    messages.success(request, "Your picture is removed." if removed else "You have no picture.")
    return redirect("account_profile")


def avatar(request: HttpRequest, public_id: str, version: str) -> HttpResponse:
    """Serve a user's avatar to anyone with its address, as the image type it was checked to be."""
    user = User.objects.filter(public_id=public_id).exclude(avatar_hash="").first()
    image = UserAvatar.objects.filter(user=user).first() if user is not None else None
    if user is None or image is None:
        raise NotFoundError("There is no such picture.")
    current = version == avatar_version(user)
    return image_response(bytes(image.data), image.content_type, current=current)


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

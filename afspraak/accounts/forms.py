"""The sign-up form (allauth's, told only the rules a new account meets, asking the
person's name, and costing the same work whether or not the address already has an
account) and the profile's forms: the name and the avatar."""

from typing import Any

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.http import HttpRequest

from afspraak.accounts.avatars import AVATAR_FIT_SIDE, MAX_AVATAR_BYTES, MAX_AVATAR_SIDE
from afspraak.accounts.models import MAX_NAME_LENGTH
from afspraak.accounts.passwords import new_account_validators
from afspraak.inputs.names import validate_name_text

NAME_HELP = "Shown to the people who book with you, in e-mails and in calendar invitations."


def name_field() -> forms.CharField:
    """Return the field for the name others see: one line, 1 to 100 characters."""
    return forms.CharField(
        label="Your name",
        max_length=MAX_NAME_LENGTH,
        validators=[validate_name_text],
        help_text=NAME_HELP,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form without the reuse rule's help and without a timing tell.

    A new account has no earlier passwords, so "not one of your last 5" means nothing
    there. For an address that already has an account allauth only sends that person
    an e-mail, skipping the slow password hash a new account costs; the answer is the
    same either way, so the time it took would still tell whether the address is known.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["full_name"] = name_field()
        self.order_fields(["full_name", "email"])
        if "password1" in self.fields:
            self.fields["password1"].help_text = password_validators_help_text_html(
                new_account_validators()
            )

    def try_save(self, request: HttpRequest) -> tuple[Any, Any]:
        password = self.cleaned_data.get("password1")
        if self.account_already_exists and password:
            # The same hash, with the same hasher, that set_password() spends on a new
            # account; the result is thrown away.
            make_password(password)
        return super().try_save(request)


class ProfileForm(forms.Form):
    full_name = name_field()


class AvatarForm(forms.Form):
    picture = forms.FileField(
        label="Choose a picture",
        help_text=(
            "A PNG, JPEG or WebP image, shown in a circle, so a square picture of your face "
            "fits best. A larger photo is made smaller by your browser before it is sent "
            f"(with JavaScript off: at most {MAX_AVATAR_BYTES // 1024} KB and "
            f"{MAX_AVATAR_SIDE} pixels a side)."
        ),
        # Read by js/shrink-picture.js, which makes a larger photo fit before it is sent.
        widget=forms.FileInput(
            attrs={
                "accept": "image/png,image/jpeg,image/webp",
                "data-max-bytes": MAX_AVATAR_BYTES,
                "data-max-side": MAX_AVATAR_SIDE,
                "data-fit-side": AVATAR_FIT_SIDE,
                "data-note": "picture-shrunk",
            }
        ),
    )

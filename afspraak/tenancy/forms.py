"""Forms of the organization pages: they parse input; the domain functions decide."""

from typing import Any, cast

from django import forms
from django.core.validators import RegexValidator

from afspraak.inputs.days import validate_day_in_range
from afspraak.inputs.names import validate_name_text
from afspraak.tenancy.audit_log import CATEGORIES, AuditFilters
from afspraak.tenancy.models import SESSION_MAX_AGE_HOURS_LIMIT, ApiTokenScope, Membership
from afspraak.tenancy.roles import Role


def assignable_roles(may_make_owners: bool) -> list[tuple[str, str]]:
    """Return the roles one may hand out (owner only by those who manage owners)."""
    return [
        (value, label) for value, label in Role.choices if value != Role.OWNER or may_make_owners
    ]


class OrganizationForm(forms.Form):
    name = forms.CharField(max_length=120, validators=[validate_name_text])
    slug = forms.SlugField(
        max_length=60,
        label="Web address",
        # Django's form templates mark help text safe, so it holds no angle brackets.
        help_text=(
            "Lower-case letters, digits and hyphens, for example hanna-studio: invitees then "
            "book at /hanna-studio/ and your organization's pages live at /o/hanna-studio/."
        ),
    )


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address")
    role = forms.ChoiceField(choices=())

    def __init__(self, *args: Any, may_make_owners: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role = cast(forms.ChoiceField, self.fields["role"])
        role.choices = assignable_roles(may_make_owners)
        role.initial = Role.MEMBER


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SecurityForm(forms.Form):
    require_mfa = forms.BooleanField(
        required=False, label="Require two-factor authentication for every member"
    )
    session_max_age_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=SESSION_MAX_AGE_HOURS_LIMIT,
        label="Session lifetime (hours)",
        help_text="Members must log in again this many hours after logging in. "
        "Empty: the platform's lifetime.",
    )


class DeleteOrganizationForm(forms.Form):
    confirmation_slug = forms.CharField(
        max_length=100,
        label="Web address of the organization",
        help_text="Type it exactly as shown above to confirm.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, choices=())
    action = forms.CharField(
        required=False,
        max_length=100,
        validators=[RegexValidator(r"^[a-z0-9_.]*$", "Use an action code such as tenancy.member.")],
        help_text="A code or its start, e.g. tenancy.member",
    )
    category = forms.ChoiceField(
        required=False,
        choices=[("", "All"), *((name, label) for name, (label, _) in CATEGORIES.items())],
    )
    # The view reads "until" as the start of the next day: the calendar must have one.
    since = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day_in_range],
    )
    until = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_day_in_range],
    )

    def __init__(self, *args: Any, members: list[Membership], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        actor = cast(forms.ChoiceField, self.fields["actor"])
        actor.choices = [("", "Anyone")] + [
            (member.user.public_id, member.user.email) for member in members
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start date must not be after the end date.")
        return cleaned

    def filters(self) -> AuditFilters:
        """Return the valid filters (call after ``is_valid``; an unbound form filters nothing)."""
        if not self.is_bound:
            return AuditFilters()
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"],
            action=data["action"],
            category=data["category"],
            since=data["since"],
            until=data["until"],
        )


class EmbeddingForm(forms.Form):
    embed_origins = forms.CharField(
        required=False,
        max_length=2000,
        label="Allow embedding of booking pages on these sites",
        help_text=(
            "One https address a line, like https://www.example.com. Only these sites may "
            "show your booking pages in a frame; empty: none may."
        ),
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class BrandingForm(forms.Form):
    accent_colour = forms.CharField(
        max_length=7,
        required=False,
        label="Accent colour",
        help_text=(
            "Six hexadecimal digits after #, for example #2456d6; white text on it must "
            "have a contrast of at least 4.5:1. Empty: Afspraak's blue."
        ),
    )
    logo = forms.FileField(
        required=False,
        label="Logo",
        help_text="A PNG, JPEG or WebP image of at most 256 KB and 2048 pixels a side.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the current logo")


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=80,
        validators=[validate_name_text],
        help_text="What will use it, e.g. “Reporting export”.",
    )
    scope = forms.ChoiceField(
        choices=ApiTokenScope.choices,
        initial=ApiTokenScope.READ,
        widget=forms.RadioSelect,
        help_text="Never more than your role allows, now or later.",
    )
    lifetime_days = forms.IntegerField(
        label="Valid for (days)", min_value=1, max_value=365, help_text="At most 365 days."
    )

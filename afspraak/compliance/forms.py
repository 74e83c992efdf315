"""Forms of the support-access pages: they parse input; the domain functions decide."""

from django import forms
from django.conf import settings

from afspraak.compliance.models import Approver, DisclosureState


class SupportRequestForm(forms.Form):
    organization = forms.SlugField(
        max_length=60,
        label="Organization",
        help_text="Its web address: the part after /o/ in its pages.",
    )
    reason = forms.CharField(
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The customer reads this: say what you will look at and why.",
    )
    hours = forms.IntegerField(
        min_value=1,
        initial=1,
        label="Duration (hours)",
    )

    def clean_hours(self) -> int:
        hours: int = self.cleaned_data["hours"]
        limit = settings.AFSPRAAK_SUPPORT_MAX_HOURS
        if hours > limit:
            raise forms.ValidationError(f"Support access lasts at most {limit} hours.")
        return hours


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("deny", "Refuse")])


class ApprovalConfirmationForm(forms.Form):
    """The confirmation page's form: it can only approve."""

    decision = forms.ChoiceField(
        choices=[("approve", "Approve")], initial="approve", widget=forms.HiddenInput
    )


class ApproverForm(forms.Form):
    approver = forms.ChoiceField(
        choices=Approver.choices,
        widget=forms.RadioSelect,
        label="Who approves staff support access",
    )


class DisclosureReportForm(forms.Form):
    email = forms.EmailField(
        label="Your e-mail address", help_text="We acknowledge your report and write to you here."
    )
    summary = forms.CharField(max_length=200, label="Summary")
    details = forms.CharField(
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        label="Details",
        help_text="What you found, where, and the steps to reproduce it.",
    )
    attachment = forms.FileField(required=False, label="Attachment (optional)")

    def clean_attachment(self) -> object:
        attachment = self.cleaned_data.get("attachment")
        limit = settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES
        if attachment is not None and attachment.size > limit:
            raise forms.ValidationError(
                f"The attachment is too large: at most {limit // 1024} KiB."
            )
        return attachment


class DisclosureStateForm(forms.Form):
    state = forms.ChoiceField(choices=DisclosureState.choices)

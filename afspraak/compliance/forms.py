"""Forms of the support-access pages: they parse input; the domain functions decide."""

from django import forms
from django.conf import settings

from afspraak.compliance.models import Approver


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


class ApproverForm(forms.Form):
    approver = forms.ChoiceField(
        choices=Approver.choices,
        widget=forms.RadioSelect,
        label="Who approves staff support access",
    )

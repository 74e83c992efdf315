"""Forms of the host's booking pages: they parse input; the booking functions decide."""

from django import forms

from afspraak.bookings.host_access import TABS


class BookingFilterForm(forms.Form):
    tab = forms.ChoiceField(
        choices=[(tab, tab.capitalize()) for tab in TABS], required=False, initial="upcoming"
    )
    name = forms.CharField(
        required=False,
        label="Invitee name",
        min_length=2,
        max_length=200,
        help_text="Part of the name is enough.",
    )
    email = forms.EmailField(
        required=False,
        label="Invitee e-mail",
        max_length=254,
        error_messages={"invalid": "Enter the invitee's whole e-mail address."},
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Message to the invitee",
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DeclineForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=1000,
        label="Reason (sent to the invitee)",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

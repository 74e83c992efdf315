"""Forms of the public booking pages: they parse input; the booking functions decide."""

import calendar
import datetime as dt
from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

from afspraak.bookings.booking import MAX_ANSWER_LENGTH, MAX_PHONE_LENGTH, SLOT_NOT_OFFERED
from afspraak.inputs.names import validate_name_text
from afspraak.scheduling.models import MeetingType, QuestionKind, zone_or_none
from afspraak.scheduling.zones import NOT_A_ZONE

# Form fields of the extra questions carry this prefix, so a question keyed "name" or
# "email" cannot collide with the invitee's own fields.
QUESTION_PREFIX = "q_"
DETAIL_FIELDS = ("name", "email", "phone", "timezone")
# Up to this many options a single choice is a row of radio buttons, beyond it a list.
RADIO_LIMIT = 5


def parse_slot_start(value: str) -> datetime | None:
    """Return the UTC instant of an ISO time with an offset (``…T08:00:00Z``), else None."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Far-off years would overflow the date arithmetic that follows: nobody books them.
    if parsed.tzinfo is None or not 2000 <= parsed.year <= 9998:
        return None
    return parsed.astimezone(UTC)


def format_slot_start(start: datetime) -> str:
    """Return a slot's start as the ISO UTC text the booking links carry."""
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SlotQueryForm(forms.Form):
    """The booking page's query: the invitee's zone, the month shown and the day chosen."""

    tz = forms.CharField(required=False, max_length=64)
    month = forms.CharField(
        required=False,
        validators=[RegexValidator(r"^\d{4}-\d{2}$", "Give the month as YYYY-MM.")],
    )
    date = forms.CharField(
        required=False,
        validators=[RegexValidator(r"^\d{4}-\d{2}-\d{2}$", "Give the date as YYYY-MM-DD.")],
    )

    def clean_tz(self) -> str:
        value: str = self.cleaned_data["tz"]
        if value and zone_or_none(value) is None:
            raise ValidationError(NOT_A_ZONE.format(value=value))
        return value

    def clean_month(self) -> tuple[int, int] | None:
        value: str = self.cleaned_data["month"]
        if not value:
            return None
        year, month = int(value[:4]), int(value[5:])
        if not (1 <= month <= 12 and 2000 <= year <= 9998):
            raise ValidationError("That is not a month we can show.")
        return year, month

    # The field is called ``date``, which hides the type inside this class.
    def clean_date(self) -> dt.date | None:
        value: str = self.cleaned_data["date"]
        if not value:
            return None
        try:
            chosen = dt.date.fromisoformat(value)
        except ValueError:
            raise ValidationError("That is not a date.") from None
        if not 2000 <= chosen.year <= 9998:
            raise ValidationError("That is not a date we can show.")
        return chosen


def month_days(year: int, month: int) -> list[list[date]]:
    """Return the weeks (Monday to Sunday) that show the month."""
    return calendar.Calendar(firstweekday=0).monthdatescalendar(year, month)


def _question_field(question: dict[str, Any]) -> forms.Field:
    kind, label = question["kind"], question["label"]
    required = bool(question.get("required", False))
    # Required answers are checked by the booking flow (one place for the rule); the
    # attribute only lets browsers say so before sending.
    attrs = {"required": "required"} if required else {}
    if kind == QuestionKind.CHECKBOX:
        return forms.BooleanField(
            label=label, required=False, widget=forms.CheckboxInput(attrs=attrs)
        )
    if kind == QuestionKind.MULTIPLE_CHOICE:
        return forms.MultipleChoiceField(
            label=label,
            required=False,
            choices=[(c, c) for c in question["choices"]],
            widget=forms.CheckboxSelectMultiple,
        )
    if kind == QuestionKind.SINGLE_CHOICE:
        choices = [(c, c) for c in question["choices"]]
        if len(choices) <= RADIO_LIMIT:
            return forms.ChoiceField(
                label=label, required=False, choices=choices, widget=forms.RadioSelect(attrs=attrs)
            )
        return forms.ChoiceField(
            label=label,
            required=False,
            choices=[("", "Choose…"), *choices],
            widget=forms.Select(attrs=attrs),
        )
    if kind == QuestionKind.PHONE:
        widget: forms.Widget = forms.TextInput(
            attrs=attrs | {"type": "tel", "autocomplete": "tel", "maxlength": MAX_PHONE_LENGTH}
        )
    elif kind == QuestionKind.LONG_TEXT:
        limit = MAX_ANSWER_LENGTH[QuestionKind.LONG_TEXT]
        widget = forms.Textarea(attrs=attrs | {"rows": 4, "maxlength": limit})
    else:
        limit = MAX_ANSWER_LENGTH[QuestionKind.SHORT_TEXT]
        widget = forms.TextInput(attrs=attrs | {"maxlength": limit})
    return forms.CharField(label=label, required=False, strip=True, widget=widget)


class BookingForm(forms.Form):
    """The invitee's details and answers for one slot."""

    start = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(
        label="Your name",
        max_length=200,
        validators=[validate_name_text],
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone number",
        required=False,
        max_length=MAX_PHONE_LENGTH,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    # Chosen with the times on the page before: the time shown is in this zone.
    timezone = forms.CharField(label="Your time zone", max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, meeting_type: MeetingType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.meeting_type = meeting_type
        self.question_keys: list[str] = []
        for question in meeting_type.questions:
            self.fields[QUESTION_PREFIX + question["key"]] = _question_field(question)
            self.question_keys.append(question["key"])

    def clean_start(self) -> datetime:
        start = parse_slot_start(self.cleaned_data["start"])
        if start is None:
            raise ValidationError(SLOT_NOT_OFFERED)
        return start

    def question_fields(self) -> list[dict[str, Any]]:
        """Return the extra questions' bound fields and whether each is required, in order."""
        return [
            {
                "field": self[QUESTION_PREFIX + question["key"]],
                "required": bool(question.get("required", False)),
            }
            for question in self.meeting_type.questions
        ]

    def answers(self) -> dict[str, Any]:
        """Return the raw answers by question key (after ``is_valid``)."""
        return {key: self.cleaned_data.get(QUESTION_PREFIX + key) for key in self.question_keys}

    def add_booking_errors(self, error: ValidationError, *, skip: Collection[str] = ()) -> None:
        """Put the booking flow's per-field errors on the matching fields (not those in skip)."""
        for key, messages in error.message_dict.items():
            if key in DETAIL_FIELDS:
                field: str | None = key
            elif key in self.question_keys:
                field = QUESTION_PREFIX + key
            else:
                field = None
            if field in skip:
                continue
            for message in messages:
                self.add_error(field, message)


class CancelForm(forms.Form):
    reason = forms.CharField(
        label="Message to the host (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class NewLinkForm(forms.Form):
    email = forms.EmailField(
        label="Your e-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="The address you booked with.",
    )

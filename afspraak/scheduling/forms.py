"""Forms of the schedule and meeting-type pages: they parse input; the domain functions decide."""

import itertools
import json
import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput, JSONString
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from afspraak.accounts.models import User
from afspraak.inputs.days import validate_day_in_range
from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.jsontext import load_json
from afspraak.inputs.names import validate_name_text
from afspraak.inputs.numbers import parse_whole_number
from afspraak.scheduling.access import hosts_of_organization, manages_all_hosts, schedules_for
from afspraak.scheduling.meeting_types import EDITABLE_FIELDS
from afspraak.scheduling.models import (
    WEEKDAY_NAMES,
    MeetingType,
    QuestionKind,
    Schedule,
    parse_ranges,
    validate_timezone_name,
)
from afspraak.scheduling.zones import UTC_NAME, is_canonical_zone, zone_options_html
from afspraak.tenancy.access import Access

# A hyphen or an en dash (\u2013) between the times.
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})$")
RANGES_HELP = "For example 09:00-12:00, 13:00-17:00. Empty: not available."
QUESTIONS_HELP = (
    "A JSON list, one object per question: "
    '[{"key": "topic", "label": "What shall we discuss?", "kind": "long_text", '
    '"required": true}]. Kinds: '
    + ", ".join(QuestionKind.values)
    + '. Choice questions also give "choices": ["…", "…"].'
)


def parse_ranges_text(text: str) -> list[list[str]]:
    """Turn "09:00-12:00, 13:00-17:00" into ``[["09:00", "12:00"], …]`` or raise ValidationError."""
    ranges: list[list[str]] = []
    for piece in (part.strip() for part in text.split(",")):
        if not piece:
            continue
        match = _RANGE.match(piece)
        if match is None:
            raise ValidationError(f"“{piece}” is not a range like 09:00-17:00.")
        start_hour, start_minute, end_hour, end_minute = match.groups()
        ranges.append(
            [f"{int(start_hour):02d}:{start_minute}", f"{int(end_hour):02d}:{end_minute}"]
        )
    parsed = sorted(parse_ranges(ranges), key=lambda r: r.start_offset)
    for earlier, later in itertools.pairwise(parsed):
        if later.start_offset < earlier.end_offset:
            raise ValidationError("These ranges overlap; give each time once.")
    return ranges


def format_ranges_text(ranges: list[list[str]]) -> str:
    """Return stored ranges as the text the forms take: "09:00-12:00, 13:00-17:00"."""
    return ", ".join(f"{start}-{end}" for start, end in ranges)


class _HostChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        user = cast(User, obj)
        return user.full_name or user.email


class _ScheduleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        schedule = cast(Schedule, obj)
        return f"{schedule.name} ({schedule.time_zone}) · {schedule.host.email}"


def _host_field() -> _HostChoiceField:
    return _HostChoiceField(
        queryset=hosts_of_organization(),
        to_field_name="public_id",
        empty_label=None,
        help_text="Who hosts these meetings.",
    )


class ZoneSelect(forms.Widget):
    """A ``<select>`` of the canonical zones by region, with their current UTC offsets.

    ``data-zone-search`` lets ``zone-picker.js`` add a search box; ``detect`` asks it to
    choose the browser's own zone (for a new schedule). Without the script it is a plain
    list that works as it is.
    """

    def __init__(self, attrs: dict[str, Any] | None = None, *, detect: bool = False) -> None:
        super().__init__({"data-zone-search": ""} | (attrs or {}))
        if detect:
            self.attrs["data-zone-detect"] = ""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            self._options(str(value or "")),
        )

    @staticmethod
    def _options(value: str) -> SafeString:
        options = zone_options_html(value, timezone.now())
        if value and not is_canonical_zone(value):
            # An existing schedule in a zone no longer offered keeps showing it, so saving
            # the form says so rather than quietly moving the schedule to the first zone.
            stale = format_html(
                '<option value="{}" selected>{} (no longer offered: choose another)</option>',
                value,
                value,
            )
            return format_html("{}{}", stale, options)
        return options


def time_zone_field(**kwargs: Any) -> forms.CharField:
    """Return a form field that takes one of the canonical time zones, from a ZoneSelect."""
    return forms.CharField(
        max_length=64, validators=[validate_timezone_name], widget=ZoneSelect(), **kwargs
    )


class ScheduleForm(forms.Form):
    name = forms.CharField(max_length=80, initial="Working hours", validators=[validate_name_text])
    time_zone = time_zone_field(
        help_text="Offsets are today's; summer time is followed through the year."
    )

    def __init__(self, *args: Any, access: Access, with_host: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound and not self.initial.get("time_zone"):
            # A new schedule: the browser's zone when the script can tell it, else UTC.
            self.initial["time_zone"] = UTC_NAME
            self.fields["time_zone"].widget = ZoneSelect(detect=True)
        if with_host and manages_all_hosts(access):
            self.fields["host"] = _host_field()
            self.fields["host"].initial = access.actor.public_id
        for day, name in enumerate(WEEKDAY_NAMES):
            self.fields[f"day_{day}"] = forms.CharField(
                label=name, required=False, max_length=300, help_text=RANGES_HELP
            )

    @classmethod
    def initial_for(cls, schedule: Schedule) -> dict[str, Any]:
        """Return the form's initial values for an existing schedule."""
        initial: dict[str, Any] = {"name": schedule.name, "time_zone": schedule.time_zone}
        for day in range(7):
            initial[f"day_{day}"] = format_ranges_text(schedule.weekly_hours.get(str(day), []))
        return initial

    def day_fields(self) -> list[forms.BoundField]:
        """Return the weekday fields, Monday first, for the template."""
        return [self[f"day_{day}"] for day in range(7)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        weekly: dict[str, list[list[str]]] = {}
        for day in range(7):
            text = cleaned.get(f"day_{day}")
            if not text:
                continue
            try:
                ranges = parse_ranges_text(text)
            except ValidationError as error:
                self.add_error(f"day_{day}", error)
                continue
            if ranges:
                weekly[str(day)] = ranges
        cleaned["weekly_hours"] = weekly
        return cleaned


class DateOverrideForm(forms.Form):
    date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), validators=[validate_day_in_range]
    )
    ranges = forms.CharField(
        label="Hours that day",
        required=False,
        max_length=300,
        help_text="For example 10:00-14:00.",
    )
    unavailable = forms.BooleanField(label="Unavailable the whole day", required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        text, unavailable = cleaned.get("ranges", ""), cleaned.get("unavailable")
        if unavailable and text:
            raise ValidationError("Give hours for the day or mark it unavailable, not both.")
        if unavailable:
            cleaned["range_list"] = []
            return cleaned
        if "ranges" in cleaned and not text:
            self.add_error("ranges", "Give the hours for this date, or mark it unavailable.")
            return cleaned
        try:
            cleaned["range_list"] = parse_ranges_text(text or "")
        except ValidationError as error:
            self.add_error("ranges", error)
        return cleaned


# The questions: a list of at most 20 objects holding a list of choices; far below these.
QUESTIONS_MAX_DEPTH = 4
QUESTIONS_MAX_BYTES = 64 * 1024


class _QuestionsJSONField(forms.JSONField):
    """JSON text decoded within the questions' size and nesting limits, shown indented."""

    def to_python(self, value: Any) -> Any:
        if self.disabled or value in self.empty_values or not isinstance(value, str):
            return super().to_python(value)
        try:
            converted = load_json(
                value, max_depth=QUESTIONS_MAX_DEPTH, max_bytes=QUESTIONS_MAX_BYTES
            )
        except InputRefusedError as refusal:
            raise ValidationError(
                f"Write the questions as valid JSON: a list of objects. {refusal}", code="invalid"
            ) from None
        return JSONString(converted) if isinstance(converted, str) else converted

    def bound_data(self, data: Any, initial: Any) -> Any:
        if self.disabled or not isinstance(data, str):
            return super().bound_data(data, initial)
        try:
            return load_json(data, max_depth=QUESTIONS_MAX_DEPTH, max_bytes=QUESTIONS_MAX_BYTES)
        except InputRefusedError:
            return InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


class _MinutesListField(forms.CharField):
    """Minutes as the text "1440, 60"; the model form's initial value is the stored list."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(minutes) for minutes in value)
        return value


class MeetingTypeForm(forms.ModelForm):
    """Every setting of a meeting type; owners and admins also choose its host."""

    questions = _QuestionsJSONField(
        required=False,
        label="Extra questions",
        help_text=QUESTIONS_HELP,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    reminder_offsets_minutes = _MinutesListField(
        required=False,
        label="Reminders (minutes before)",
        help_text="For example 1440, 60 (a day and an hour before). Empty: no reminders.",
        max_length=100,
    )

    class Meta:
        model = MeetingType
        # Schedule and host get their choices per request in __init__: a ScopedManager
        # refuses the class-level query a model form would make for them.
        fields = tuple(name for name in EDITABLE_FIELDS if name != "schedule")
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "slug": "Web address",
            "duration_minutes": "Duration (minutes)",
            "buffer_before_minutes": "Buffer before (minutes)",
            "buffer_after_minutes": "Buffer after (minutes)",
            "minimum_notice_minutes": "Minimum notice (minutes)",
            "horizon_days": "Bookable up to (days ahead)",
            "slot_interval_minutes": "Slot interval (minutes)",
            "change_cutoff_minutes": "Cancel/reschedule cut-off (minutes before)",
        }

    def __init__(self, *args: Any, access: Access, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["schedule"] = _ScheduleChoiceField(
            queryset=schedules_for(access),
            to_field_name="public_id",
            empty_label=None,
            help_text="The host's availability this meeting type offers.",
            error_messages={"invalid_choice": "Choose one of the host's schedules."},
        )
        if manages_all_hosts(access):
            self.fields["host"] = _host_field()
        self.fields["name"].validators.append(validate_name_text)
        self.order_fields(["host", "name", "slug", "description", "schedule"])
        self.fields["slug"].help_text = "Lower-case letters, digits and hyphens: the booking page."
        if self.instance.pk is not None:
            self.initial["schedule"] = self.instance.schedule.public_id
            self.initial["host"] = self.instance.host.public_id
        else:
            self.initial.setdefault("host", access.actor.public_id)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Set before the model's own checks run (the schedule must be the host's).
        if cleaned.get("host") is not None:
            self.instance.host = cleaned["host"]
        if cleaned.get("schedule") is not None:
            self.instance.schedule = cleaned["schedule"]
        return cleaned

    def clean_questions(self) -> Any:
        questions = self.cleaned_data.get("questions") or []
        # The shape is the model's to check; here only the texts shown to invitees.
        for question in questions if isinstance(questions, list) else []:
            if not isinstance(question, dict):
                continue
            texts = [question.get("label"), *_list_or_empty(question.get("choices"))]
            for text in texts:
                if isinstance(text, str):
                    try:
                        validate_name_text(text)
                    except ValidationError as error:
                        raise ValidationError(
                            f"Question “{question.get('key')}”: {error.messages[0]}"
                        ) from None
        return questions

    def clean_reminder_offsets_minutes(self) -> list[int]:
        text = self.cleaned_data.get("reminder_offsets_minutes", "")
        offsets = []
        for piece in (part.strip() for part in text.split(",")):
            if not piece:
                continue
            try:
                offsets.append(parse_whole_number(piece))
            except InputRefusedError as refusal:
                raise ValidationError(
                    f"“{piece[:20]}” is not a whole number of minutes: {refusal}."
                ) from None
        return offsets

    def values(self) -> dict[str, Any]:
        """Return the settings the domain functions take."""
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}

    def chosen_host(self) -> Any:
        """Return the host picked by an owner or admin, else the meeting type's own."""
        return self.cleaned_data.get("host") or self.instance.host


def _list_or_empty(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def add_domain_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a domain ValidationError on the form: on its fields where they exist, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)

"""Forms of the schedule and meeting-type pages: they parse input; the domain functions decide."""

import itertools
import re
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import slugify

from afspraak.accounts.models import User
from afspraak.inputs.days import validate_day_in_range
from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.names import validate_name_text
from afspraak.scheduling.access import hosts_of_organization, manages_all_hosts, schedules_for
from afspraak.scheduling.durations import format_lengths, parse_lengths
from afspraak.scheduling.length_fields import (
    DAYS_HOURS_MINUTES,
    HOURS_MINUTES,
    LengthField,
    Unit,
    length_field_for,
)
from afspraak.scheduling.meeting_types import EDITABLE_FIELDS
from afspraak.scheduling.models import (
    WEEKDAY_NAMES,
    MeetingType,
    Schedule,
    parse_ranges,
    validate_timezone_name,
)
from afspraak.scheduling.question_forms import PREFIX as QUESTION_PREFIX
from afspraak.scheduling.question_forms import (
    BaseQuestionFormSet,
    QuestionFormSet,
    question_initial,
)
from afspraak.scheduling.zones import UTC_NAME, is_canonical_zone, zone_options_html
from afspraak.tenancy.access import Access

# A hyphen or an en dash (\u2013) between the times.
_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*[-\u2013]\s*(\d{1,2}):(\d{2})$")
RANGES_HELP = "For example 09:00-12:00, 13:00-17:00. Empty: not available."


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
        # The host's name, not their address: the list is read by colleagues, on screen.
        host = schedule.host.full_name or schedule.host.email
        return f"{schedule.name} ({schedule.time_zone}) · {host}"


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


class _LengthListField(forms.CharField):
    """Several lengths as the text "1 d, 1 h"; the model form's initial value is minutes."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return format_lengths([int(minutes) for minutes in value])
        return value

    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        try:
            return parse_lengths(super().to_python(value) or "")
        except InputRefusedError as refusal:
            raise ValidationError(str(refusal), code="invalid") from None


def _length(name: str, label: str, units: tuple[Unit, ...] = HOURS_MINUTES) -> LengthField:
    model_field = cast("models.Field[Any, Any]", MeetingType._meta.get_field(name))
    return length_field_for(model_field, units, label=label)


# Which fields each part of the page shows, in order; "host" only for owners and admins.
FIELDSETS = (
    (
        "Basics",
        (
            "host",
            "name",
            "slug",
            "description",
            "duration_minutes",
            "location_kind",
            "location_detail",
            "visibility",
        ),
    ),
    (
        "Availability",
        (
            "schedule",
            "minimum_notice_minutes",
            "horizon_days",
            "slot_interval_minutes",
            "buffer_before_minutes",
            "buffer_after_minutes",
        ),
    ),
    ("Limits", ("limit_per_day", "limit_per_week", "requires_approval", "change_cutoff_minutes")),
    ("Notifications", ("reminder_offsets_minutes",)),
)
SLUG_FROM_NAME_MISSING = "Give a web address: the name has no letters or digits to make one from."


class MeetingTypeForm(forms.ModelForm):
    """Every setting of a meeting type and its questions; owners and admins also choose its host."""

    slug = forms.SlugField(
        label="Web address",
        max_length=60,
        required=False,
        help_text="Lower-case letters, digits and hyphens; left empty, it is made from the name.",
        widget=forms.TextInput(attrs={"data-slug-from": "name", "autocomplete": "off"}),
    )
    duration_minutes = _length("duration_minutes", "Duration")
    minimum_notice_minutes = _length("minimum_notice_minutes", "Minimum notice", DAYS_HOURS_MINUTES)
    slot_interval_minutes = _length("slot_interval_minutes", "Time between slot starts")
    buffer_before_minutes = _length("buffer_before_minutes", "Free time before")
    buffer_after_minutes = _length("buffer_after_minutes", "Free time after")
    change_cutoff_minutes = _length(
        "change_cutoff_minutes", "Cancel or reschedule until", DAYS_HOURS_MINUTES
    )
    reminder_offsets_minutes = _LengthListField(
        required=False,
        label="Reminders before the meeting",
        help_text="For example 1 d, 1 h (a day and an hour before). Empty: no reminders.",
        max_length=100,
    )

    class Meta:
        model = MeetingType
        # Schedule and host get their choices per request in __init__: a ScopedManager
        # refuses the class-level query a model form would make for them. The questions
        # come from the question builder.
        fields = tuple(name for name in EDITABLE_FIELDS if name not in {"schedule", "questions"})
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {
            "horizon_days": "Bookable up to (days ahead)",
            "limit_per_day": "At most a day",
            "limit_per_week": "At most a week",
            "requires_approval": "I approve each booking",
        }
        help_texts = {
            "limit_per_day": "Bookings of this type a day; empty: no limit.",
            "limit_per_week": "Bookings of this type a week; empty: no limit.",
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
        self.fields["change_cutoff_minutes"].help_text = "Before the start, for invitees."
        self.fields["slot_interval_minutes"].help_text = "Empty: the duration."
        if self.instance.pk is not None:
            self.initial["schedule"] = self.instance.schedule.public_id
            self.initial["host"] = self.instance.host.public_id
            # An existing web address is kept unless the host changes it by hand.
            del self.fields["slug"].widget.attrs["data-slug-from"]
        else:
            self.initial.setdefault("host", access.actor.public_id)
        self.question_forms = cast(
            BaseQuestionFormSet,
            QuestionFormSet(
                self.data if self.is_bound else None,
                prefix=QUESTION_PREFIX,
                initial=None if self.is_bound else question_initial(self.instance.questions),
            ),
        )

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """Return the page's groups of fields, each as (legend, bound fields)."""
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in FIELDSETS
        ]

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return self.question_forms.is_valid() and valid

    def has_errors(self) -> bool:
        """Tell whether the form or one of its questions has an error to show."""
        return bool(self.errors) or self.question_forms.total_error_count() > 0

    def hide_errors(self) -> None:
        """Show what was typed without judging it (after a question action, which saves nothing)."""
        self._errors = forms.utils.ErrorDict()
        self.cleaned_data = {}
        self.question_forms.hide_errors()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("slug") and cleaned.get("name") and "slug" not in self.errors:
            slug = slugify(cleaned["name"])[:60].strip("-")
            if slug:
                cleaned["slug"] = slug
            else:
                self.add_error("slug", SLUG_FROM_NAME_MISSING)
        # Set before the model's own checks run (the schedule must be the host's).
        if cleaned.get("host") is not None:
            self.instance.host = cleaned["host"]
        if cleaned.get("schedule") is not None:
            self.instance.schedule = cleaned["schedule"]
        return cleaned

    def values(self) -> dict[str, Any]:
        """Return the settings the domain functions take (after ``is_valid``)."""
        values = {name: self.cleaned_data[name] for name in EDITABLE_FIELDS if name != "questions"}
        values["questions"] = self.question_forms.questions()
        return values

    def chosen_host(self) -> Any:
        """Return the host picked by an owner or admin, else the meeting type's own."""
        return self.cleaned_data.get("host") or self.instance.host


def add_domain_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a domain ValidationError on the form: on its fields where they exist, else on top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)

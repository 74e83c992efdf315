"""Meeting types and the availability schedules they use: what a host offers, and when.

The slot engine (``slots.py``) knows nothing of these models; ``engine_schedule()`` and
``slot_rules()`` turn them into its dataclasses.
"""

from collections.abc import Mapping, Sequence
from datetime import date, time, timedelta
from functools import partial
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from afspraak.publicid import new_public_id
from afspraak.scheduling.availability import TimeRange, WeeklySchedule
from afspraak.scheduling.slots import SlotRules
from afspraak.scheduling.zones import NOT_A_ZONE, is_canonical_zone
from afspraak.tenancy.models import Organization

MAX_RANGES_PER_DAY = 12
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def validate_timezone_name(value: str) -> None:
    """Refuse anything but one of the canonical time zones people may choose."""
    if zone_or_none(value) is None:
        raise ValidationError(NOT_A_ZONE.format(value=value[:64]), code="unknown_time_zone")


def zone_or_none(value: str) -> ZoneInfo | None:
    """Return the canonical zone of that name, or None for an alias, unknown or junk name.

    The one check of a zone name: schedules, the booking pages and the booking flow all
    use it, so a name refused in one place is refused in all.
    """
    if not is_canonical_zone(value):
        return None
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _parse_time(value: Any) -> time:
    if value == "24:00":
        return time(0)
    try:
        return time.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(f"“{value}” is not a time of day (HH:MM).") from None


def parse_ranges(raw: Any) -> tuple[TimeRange, ...]:
    """Turn ``[["09:00", "17:00"], …]`` into time ranges; "24:00" is the end of the day."""
    if not isinstance(raw, list) or len(raw) > MAX_RANGES_PER_DAY:
        raise ValidationError(f"A day holds a list of at most {MAX_RANGES_PER_DAY} ranges.")
    ranges = []
    for item in raw:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise ValidationError("Each range is a start and an end time.")
        start, end = _parse_time(item[0]), _parse_time(item[1])
        try:
            ranges.append(TimeRange(start, end))
        except ValueError:
            raise ValidationError(
                f"{item[0]} to {item[1]}: the end must come after the start."
            ) from None
    return tuple(ranges)


def format_ranges(ranges: tuple[TimeRange, ...]) -> list[list[str]]:
    """Return ranges as ``[["09:00", "17:00"], …]``, the form the models store."""
    return [
        [r.start.strftime("%H:%M"), "24:00" if r.end == time(0) else r.end.strftime("%H:%M")]
        for r in ranges
    ]


def validate_weekly_hours(value: Any) -> None:
    """Check ``{"0": [["09:00", "17:00"]], …}``: weekdays 0 (Monday) to 6 with their ranges."""
    if not isinstance(value, dict):
        raise ValidationError("Weekly hours map weekdays to lists of ranges.")
    for day, ranges in value.items():
        if day not in {str(n) for n in range(7)}:
            raise ValidationError(f"“{day}” is not a weekday (0 = Monday … 6 = Sunday).")
        parse_ranges(ranges)


def validate_ranges(value: Any) -> None:
    """Check a list of ``[start, end]`` ranges; an empty list means unavailable."""
    parse_ranges(value)


class Schedule(models.Model):
    """A host's named weekly availability in one IANA time zone, with date overrides."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="schedules"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "sch")
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="schedules"
    )
    name = models.CharField(max_length=80)
    time_zone = models.CharField(max_length=64, validators=[validate_timezone_name])
    weekly_hours = models.JSONField(default=dict, validators=[validate_weekly_hours])
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["Schedule"]] = ScopedManager(organization="organization")

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> ZoneInfo:
        """Return the schedule's time zone."""
        return ZoneInfo(self.time_zone)

    def engine_schedule(
        self, overrides: Mapping[date, Sequence[TimeRange]] | None = None
    ) -> WeeklySchedule:
        """Return the schedule, its overrides included, as the slot engine's dataclass.

        ``overrides``: those the caller read already (a booking's re-check reads the ones of
        its slot's days); by default every override of the schedule is read.
        """
        if overrides is None:
            overrides = {o.date: parse_ranges(o.ranges) for o in self.overrides.all()}
        weekly = {int(day): parse_ranges(ranges) for day, ranges in self.weekly_hours.items()}
        return WeeklySchedule(self.zone, weekly, overrides)


class DateOverride(models.Model):
    """Other hours on one local date of a schedule; no ranges: unavailable that day."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="date_overrides"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "ovr")
    )
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField()
    ranges = models.JSONField(default=list, blank=True, validators=[validate_ranges])

    objects: ClassVar[models.Manager["DateOverride"]] = ScopedManager(organization="organization")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "schedule", "date"], name="scheduling_one_override_a_day"
            )
        ]

    def __str__(self) -> str:
        return self.date.isoformat()

    @property
    def is_unavailable(self) -> bool:
        """Tell whether the host is away the whole date."""
        return not self.ranges


class Location(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone call"
    LINK = "link", "Fixed meeting link"
    VIDEO = "video", "Video room (a new link for each booking)"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public: listed on the organization's page"
    HIDDEN = "hidden", "Hidden: only people with the link can book"
    DISABLED = "disabled", "Disabled: nobody can book"


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", "Short text"
    LONG_TEXT = "long_text", "Long text"
    SINGLE_CHOICE = "single_choice", "Single choice"
    MULTIPLE_CHOICE = "multiple_choice", "Multiple choice"
    PHONE = "phone", "Phone number"
    CHECKBOX = "checkbox", "Checkbox"


MAX_QUESTIONS = 20
MAX_CHOICES = 20
CHOICE_KINDS = {QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE}


def validate_questions(value: Any) -> None:
    """Check the extra questions: ``[{"key", "label", "kind", "required", "choices"}, …]``."""
    if not isinstance(value, list) or len(value) > MAX_QUESTIONS:
        raise ValidationError(f"A meeting type asks at most {MAX_QUESTIONS} extra questions.")
    keys = set()
    for question in value:
        if not isinstance(question, dict):
            raise ValidationError("Each question is an object.")
        key, label = question.get("key"), question.get("label")
        if not (isinstance(key, str) and key.isidentifier() and len(key) <= 40):
            raise ValidationError(f"Question key “{key}” must be a short identifier.")
        if key in keys:
            raise ValidationError(f"Question key “{key}” is used twice.")
        keys.add(key)
        if not (isinstance(label, str) and 0 < len(label.strip()) <= 200):
            raise ValidationError(f"Question “{key}” needs a label of at most 200 characters.")
        if question.get("kind") not in QuestionKind.values:
            raise ValidationError(f"Question “{key}” has an unknown kind.")
        if not isinstance(question.get("required", False), bool):
            raise ValidationError(f"Question “{key}”: required is true or false.")
        choices = question.get("choices", [])
        if question["kind"] in CHOICE_KINDS:
            if not (
                isinstance(choices, list)
                and 0 < len(choices) <= MAX_CHOICES
                and all(isinstance(c, str) and 0 < len(c) <= 100 for c in choices)
            ):
                raise ValidationError(f"Question “{key}” needs 1 to {MAX_CHOICES} choices.")
        elif choices:
            raise ValidationError(f"Question “{key}” is not a choice question.")


def validate_reminder_offsets(value: Any) -> None:
    """Check reminder offsets: up to 5 distinct whole minutes before the meeting, 5 min to 30 d."""
    if not (
        isinstance(value, list)
        and len(value) <= 5
        and len(set(value)) == len(value)
        and all(isinstance(v, int) and 5 <= v <= 30 * 24 * 60 for v in value)
    ):
        raise ValidationError(
            "Reminders are up to 5 different offsets of 5 minutes to 30 days before the meeting."
        )


def default_reminder_offsets() -> list[int]:
    """Return the default reminders: a day and an hour before the meeting."""
    return [24 * 60, 60]


def _minutes(maximum: int, *, minimum: int = 0) -> list[Any]:
    return [MinValueValidator(minimum), MaxValueValidator(maximum)]


DAY_MINUTES = 24 * 60


class MeetingType(models.Model):
    """What a host offers: a meeting of some length, somewhere, under booking rules."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="meeting_types"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "mtt")
    )
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_types"
    )
    schedule = models.ForeignKey(Schedule, on_delete=models.PROTECT, related_name="meeting_types")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    description = models.TextField(max_length=2000, blank=True)
    duration_minutes = models.PositiveIntegerField(
        default=30, validators=_minutes(12 * 60, minimum=5)
    )
    location_kind = models.CharField(
        max_length=16, choices=Location.choices, default=Location.VIDEO
    )
    location_detail = models.CharField(
        max_length=300,
        blank=True,
        help_text="The address, the phone number, or the fixed link, as the location needs.",
    )
    visibility = models.CharField(
        max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    buffer_before_minutes = models.PositiveIntegerField(default=0, validators=_minutes(DAY_MINUTES))
    buffer_after_minutes = models.PositiveIntegerField(default=0, validators=_minutes(DAY_MINUTES))
    minimum_notice_minutes = models.PositiveIntegerField(
        default=4 * 60, validators=_minutes(90 * DAY_MINUTES)
    )
    horizon_days = models.PositiveIntegerField(default=60, validators=_minutes(730))
    slot_interval_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=_minutes(12 * 60, minimum=5),
        help_text="Minutes between slot starts; empty: the duration.",
    )
    limit_per_day = models.PositiveIntegerField(
        null=True, blank=True, validators=_minutes(100, minimum=1)
    )
    limit_per_week = models.PositiveIntegerField(
        null=True, blank=True, validators=_minutes(500, minimum=1)
    )
    requires_approval = models.BooleanField(default=False)
    change_cutoff_minutes = models.PositiveIntegerField(
        default=24 * 60,
        validators=_minutes(30 * DAY_MINUTES),
        help_text="Invitees may cancel or reschedule until this many minutes before the start.",
    )
    questions = models.JSONField(default=list, blank=True, validators=[validate_questions])
    reminder_offsets_minutes = models.JSONField(
        default=default_reminder_offsets, blank=True, validators=[validate_reminder_offsets]
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["MeetingType"]] = ScopedManager(organization="organization")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "slug"], name="scheduling_meeting_type_slug_per_org"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        needs_detail = {Location.IN_PERSON, Location.PHONE, Location.LINK}
        if self.location_kind in needs_detail and not self.location_detail.strip():
            raise ValidationError(
                {"location_detail": "This location needs an address, number or link."}
            )
        if self.location_kind == Location.LINK and not self.location_detail.startswith("https://"):
            raise ValidationError({"location_detail": "A meeting link must start with https://."})
        if (
            self.schedule_id is not None
            and self.host_id is not None
            and self.schedule.host_id != self.host_id
        ):
            raise ValidationError({"schedule": "The schedule must be the host's own."})

    @property
    def duration(self) -> timedelta:
        """Return the meeting's length."""
        return timedelta(minutes=self.duration_minutes)

    @property
    def change_cutoff(self) -> timedelta:
        """Return how long before the start invitees can no longer cancel or reschedule."""
        return timedelta(minutes=self.change_cutoff_minutes)

    @property
    def is_bookable(self) -> bool:
        """Tell whether invitees may book it (public or hidden, not disabled)."""
        return self.visibility != Visibility.DISABLED

    def slot_rules(self) -> SlotRules:
        """Return the meeting type's booking rules as the slot engine's dataclass."""
        interval = self.slot_interval_minutes
        return SlotRules(
            duration=self.duration,
            interval=timedelta(minutes=interval) if interval else None,
            buffer_before=timedelta(minutes=self.buffer_before_minutes),
            buffer_after=timedelta(minutes=self.buffer_after_minutes),
            minimum_notice=timedelta(minutes=self.minimum_notice_minutes),
            horizon_days=self.horizon_days,
            limit_per_day=self.limit_per_day,
            limit_per_week=self.limit_per_week,
        )


class SlotsVersion(models.Model):
    """A host's counter of changes to what they offer: the key of their cached free slots.

    Every saved or deleted schedule, date override, meeting type or booking of the host
    raises it in the writing transaction (``afspraak.scheduling.slot_cache``), so a
    cached computation made before the change is never read again, by any process.
    """

    # A plain id, not a foreign key: a version raised while the host's rows are deleted
    # (a cascade from the user) must not fail on the user being gone; a left-over
    # counter holds nothing about anyone.
    host_id = models.BigIntegerField(primary_key=True)
    number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"host {self.host_id}: version {self.number}"

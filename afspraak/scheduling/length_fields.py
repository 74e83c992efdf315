"""A length of time typed in its units ("1 h 30 min"), stored as whole minutes.

``LengthField`` shows one number box per unit (days, hours, minutes), each with its own
label, and gives the form the total in minutes; junk in any box is a clear error on
the field. Pages render it in a ``<fieldset>`` whose legend is the field's label
(``scheduling/_field.html``).
"""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.numbers import parse_whole_number
from afspraak.scheduling.durations import MINUTES_PER_DAY, MINUTES_PER_HOUR, format_minutes

# (name suffix, label, minutes in one)
DAYS = ("days", "days", MINUTES_PER_DAY)
HOURS = ("hours", "hours", MINUTES_PER_HOUR)
MINUTES = ("minutes", "minutes", 1)
HOURS_MINUTES = (HOURS, MINUTES)
DAYS_HOURS_MINUTES = (DAYS, HOURS, MINUTES)
Unit = tuple[str, str, int]


def split_minutes(minutes: int, units: tuple[Unit, ...]) -> list[int]:
    """Return ``minutes`` as a count of each unit, the largest first."""
    counts = []
    for _suffix, _label, size in units:
        count, minutes = divmod(minutes, size)
        counts.append(count)
    return counts


class LengthInput(forms.Widget):
    """A number box per unit, named ``<name>_<unit>``; the value is the typed texts."""

    def __init__(self, units: tuple[Unit, ...] = HOURS_MINUTES) -> None:
        super().__init__()
        self.units = units

    def value_from_datadict(self, data: Any, files: Any, name: str) -> tuple[str, ...] | None:
        texts = tuple(data.get(f"{name}_{suffix}") for suffix, _label, _size in self.units)
        if all(text is None for text in texts):
            return None
        return tuple(text or "" for text in texts)

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return all(f"{name}_{suffix}" not in data for suffix, _label, _size in self.units)

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_{self.units[0][0]}" if id_ else id_

    def _texts(self, value: Any) -> list[str]:
        if isinstance(value, tuple):
            return [str(text) for text in value]
        if isinstance(value, int):
            return [str(count) for count in split_minutes(value, self.units)]
        return ["" for _unit in self.units]

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        base_id = (attrs or {}).get("id") or f"id_{name}"
        described = (attrs or {}).get("aria-describedby")
        boxes = format_html_join(
            "",
            '<span class="length-part"><input type="text" inputmode="numeric" '
            'name="{}_{}" id="{}_{}" value="{}" size="4" autocomplete="off"{}{}>'
            ' <label for="{}_{}">{}</label></span>',
            (
                (
                    name,
                    suffix,
                    base_id,
                    suffix,
                    text,
                    format_html(' aria-describedby="{}"', described) if described else "",
                    mark_safe(' aria-invalid="true"') if (attrs or {}).get("aria-invalid") else "",
                    base_id,
                    suffix,
                    label,
                )
                for (suffix, label, _size), text in zip(self.units, self._texts(value), strict=True)
            ),
        )
        return format_html('<span class="length">{}</span>', boxes)


class LengthField(forms.Field):
    """A length in ``units`` boxes, cleaned to whole minutes within ``minimum``..``maximum``."""

    widget = LengthInput

    def __init__(
        self,
        *,
        units: tuple[Unit, ...] = HOURS_MINUTES,
        minimum: int = 0,
        maximum: int = 90 * MINUTES_PER_DAY,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("widget", LengthInput(units))
        super().__init__(**kwargs)
        self.units, self.minimum, self.maximum = units, minimum, maximum

    def to_python(self, value: Any) -> int | None:
        if value is None or isinstance(value, int):
            return value
        if all(not str(text).strip() for text in value):
            return None
        total = 0
        for (_suffix, label, size), text in zip(self.units, value, strict=True):
            if not str(text).strip():
                continue
            try:
                total += parse_whole_number(str(text), maximum=self.maximum) * size
            except InputRefusedError as refusal:
                raise ValidationError(
                    f"“{str(text)[:20]}” is not a whole number of {label}: {refusal}.",
                    code="invalid",
                ) from None
        return total

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is not None and not self.minimum <= value <= self.maximum:
            raise ValidationError(
                f"Give a length from {format_minutes(self.minimum)} "
                f"to {format_minutes(self.maximum)}.",
                code="out_of_range",
            )


def length_field_for(
    model_field: "models.Field[Any, Any]", units: tuple[Unit, ...], **kwargs: Any
) -> LengthField:
    """Return a LengthField with the limits of ``model_field``'s min and max validators."""
    minimum, maximum = 0, 90 * MINUTES_PER_DAY
    for validator in model_field.validators:
        if isinstance(validator, MinValueValidator):
            minimum = int(validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            maximum = int(validator.limit_value)
    return LengthField(
        units=units,
        minimum=minimum,
        maximum=maximum,
        required=not model_field.blank,
        help_text=model_field.help_text,
        **kwargs,
    )

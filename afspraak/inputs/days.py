"""Calendar days typed by people: only those whose next day the calendar still has.

``date(9999, 12, 31) + timedelta(days=1)`` raises OverflowError, and a day typed as
the end of a range is usually turned into the start of the next one.
"""

from datetime import date

from django.core.exceptions import ValidationError

LATEST_DAY = date(9998, 12, 31)


def validate_day_in_range(value: date) -> None:
    """Refuse a day after LATEST_DAY, with a message that says which days are taken."""
    if value > LATEST_DAY:
        raise ValidationError("Give a day before the year 9999.", code="day_out_of_range")

"""Moved to ``afspraak.testing.factories``; kept so existing imports work until they switch."""

from afspraak.testing.factories import (
    OFFICE_HOURS,
    DateOverrideFactory,
    MeetingTypeFactory,
    ScheduleFactory,
)

__all__ = ["OFFICE_HOURS", "DateOverrideFactory", "MeetingTypeFactory", "ScheduleFactory"]

"""Weekly schedules in a host's own time zone, and their ranges as real (UTC) intervals.

A schedule says, in local wall-clock time, when a host is available: ranges per weekday
plus per-date overrides. Turning a wall-clock bound into an instant follows one rule,
which covers the daylight-saving cases too (see :func:`resolve_local_time`): a bound
``(day, wall time)`` is *the earliest instant at which the schedule's clock reads that
day and time or later*.
"""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from afspraak.scheduling.intervals import Interval

MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY, SUNDAY = range(7)
_DAY = timedelta(days=1)


def _since_midnight(value: time) -> timedelta:
    return timedelta(
        hours=value.hour, minutes=value.minute, seconds=value.second, microseconds=value.microsecond
    )


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A local wall-clock range ``[start, end)`` within one day; ``end=time(0)`` means 24:00."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("a time range holds wall-clock times without a time zone")
        if self.start.fold or self.end.fold:
            raise ValueError("a time range bound must not set fold (repeated times are resolved)")
        if not self.start_offset < self.end_offset:
            raise ValueError(f"a time range must end after it starts: {self.start}-{self.end}")

    @property
    def start_offset(self) -> timedelta:
        """Return the wall-clock distance of the start from the day's midnight."""
        return _since_midnight(self.start)

    @property
    def end_offset(self) -> timedelta:
        """Return the wall-clock distance of the end from the day's midnight (24 h for 24:00)."""
        return _DAY if self.end == time(0) else _since_midnight(self.end)


def merge_time_ranges(ranges: Iterable[TimeRange]) -> tuple[TimeRange, ...]:
    """Return the ranges sorted, with overlapping or touching ones merged into one."""
    merged: list[TimeRange] = []
    for current in sorted(ranges, key=lambda item: item.start_offset):
        if merged and current.start_offset <= merged[-1].end_offset:
            if current.end_offset > merged[-1].end_offset:
                merged[-1] = TimeRange(merged[-1].start, current.end)
        else:
            merged.append(current)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """When a host is available, in local wall-clock time of the schedule's own zone.

    ``weekly`` maps a weekday (0 = Monday … 6 = Sunday, as ``date.weekday()``) to its
    ranges; a missing weekday has none. ``overrides`` maps a local date to the ranges
    that replace that date's weekly ones entirely; an empty sequence means unavailable
    all day. Ranges of one day that overlap or touch are merged (09:00-12:00 and
    12:00-17:00 act as 09:00-17:00).
    """

    timezone: ZoneInfo
    weekly: Mapping[int, Sequence[TimeRange]]
    overrides: Mapping[date, Sequence[TimeRange]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.timezone, ZoneInfo):
            raise TypeError("a schedule's time zone must be a zoneinfo.ZoneInfo (an IANA zone)")
        unknown = sorted(set(self.weekly) - set(range(7)))
        if unknown:
            raise ValueError(f"weekdays are 0 (Monday) to 6 (Sunday), got {unknown}")
        # Normalised once here, so the engine reads sorted disjoint tuples on every call.
        object.__setattr__(
            self, "weekly", {day: merge_time_ranges(items) for day, items in self.weekly.items()}
        )
        object.__setattr__(
            self,
            "overrides",
            {day: merge_time_ranges(items) for day, items in self.overrides.items()},
        )

    def ranges_on(self, day: date) -> tuple[TimeRange, ...]:
        """Return the merged local ranges of a date: its override, else its weekday's."""
        if day in self.overrides:
            return tuple(self.overrides[day])
        return tuple(self.weekly.get(day.weekday(), ()))


def resolve_local_time(day: date, offset: timedelta, zone: ZoneInfo) -> datetime:
    """Return the earliest instant (UTC) at which the zone's clock reads day + offset or later.

    ``offset`` is the wall-clock distance from the day's midnight (0 to 24 h). An
    ordinary wall time has one instant. A repeated one (clocks turned back) gets its
    first occurrence, which is ``fold=0``. One in a gap (clocks turned forward) gets the
    instant of the jump, the first valid instant after it.
    """
    wall = datetime.combine(day, time(0)) + offset
    # ZoneInfo reads a naive wall time as local; fold picks the offset from before (0)
    # or after (1) a change, and both agree on an ordinary time.
    offset_before = zone.utcoffset(wall)
    offset_after = zone.utcoffset(wall.replace(fold=1))
    if offset_before is None or offset_after is None:
        raise ValueError(f"the zone {zone} gives no UTC offset for {wall}")
    if offset_before >= offset_after:
        # Ordinary, or repeated (clocks turned back): the larger, earlier offset gives
        # the first occurrence.
        return (wall - offset_before).replace(tzinfo=UTC)
    # In a gap the jump lies between the wall time read with the offset from after it
    # (too early) and with the offset from before it (too late): bisect for it to the
    # second, as zone changes fall on whole seconds.
    low = math.floor((wall - offset_after).replace(tzinfo=UTC).timestamp())
    high = math.ceil((wall - offset_before).replace(tzinfo=UTC).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, UTC).astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def start_of_local_day(day: date, zone: ZoneInfo) -> datetime:
    """Return the instant (UTC) at which the local date begins (after a gap at midnight)."""
    return resolve_local_time(day, timedelta(0), zone)


def local_date_of(instant: datetime, zone: ZoneInfo) -> date:
    """Return the local calendar date of an instant in the zone."""
    return instant.astimezone(zone).date()


def availability_on(schedule: WeeklySchedule, day: date) -> list[Interval]:
    """Return the local date's ranges as UTC intervals; ranges lost in a gap are dropped."""
    intervals = []
    for item in schedule.ranges_on(day):
        start = resolve_local_time(day, item.start_offset, schedule.timezone)
        end = resolve_local_time(day, item.end_offset, schedule.timezone)
        if start < end:
            intervals.append(Interval(start, end))
    return intervals


def availability_between(
    schedule: WeeklySchedule, start: datetime, end: datetime
) -> list[tuple[date, Interval]]:
    """Return (local date, range) for every range that meets [start, end), unclipped, in order.

    The ranges are not cut to the window, because the slot grid is anchored at each
    range's own start.
    """
    window = Interval(start, end)
    # A range of an earlier date ends by the first instant that reads this date, so it
    # cannot reach `start`. A later date's range can begin before `end` where clocks
    # turned back across midnight, so one more date is looked at.
    first = local_date_of(start, schedule.timezone)
    last = local_date_of(end, schedule.timezone) + _DAY
    found: list[tuple[date, Interval]] = []
    day = first
    while day <= last:
        found.extend(
            (day, item) for item in availability_on(schedule, day) if item.overlaps(window)
        )
        day += _DAY
    return found

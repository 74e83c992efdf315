"""The slot engine: which start times a meeting type offers, by interval arithmetic.

Pure Python (no Django): callers turn their models into the dataclasses below and get
a sorted list of aware UTC datetimes back. The work is a few set operations on sorted
intervals and one walk over each free interval, never a scan minute by minute:
O((R + B) log B + S) for R availability ranges, B bookings and busy intervals, S slots.

Entry points: :func:`compute_free_slots` (the slots of a window), :func:`is_slot_offered`
(the re-check inside the booking transaction), :func:`slots_by_local_date` (the
invitee's month view), :func:`booking_horizon_end`, and ``Booking.blocked`` /
``SlotRules.blocked_for`` (the buffered time range a booking holds, the same one an
exclusion constraint should guard).

Rules, precisely
================
Times. Every datetime passed in must be aware (``ValueError`` otherwise); any zone is
accepted. Every slot returned is an aware datetime in UTC.

Availability. A :class:`WeeklySchedule` holds local wall-clock ranges per weekday in
its own IANA zone; an override for a local date replaces that date's weekly ranges
(an empty override: unavailable all day). A range lies within one day, ``[start,
end)``, ``end=time(0)`` meaning 24:00; ranges of a day that overlap or touch are merged.

Wall clock to instant (daylight saving). A bound ``(date, wall time)`` is the earliest
instant at which the schedule's clock reads that date and time or later
(:func:`~afspraak.scheduling.availability.resolve_local_time`). Hence:

- an ordinary time is its one instant, so 09:00-17:00 stays 09:00-17:00 local on the
  days the clocks change (the UTC offsets shift, the local times do not);
- a time in a spring-forward gap moves to the first valid instant after the gap, the
  moment of the jump: in Europe/Amsterdam on 2024-03-31 a range 02:30-05:00 runs from
  03:00 (CEST) to 05:00, and a range 02:00-03:00 is empty and offers nothing;
- a repeated time (clocks turned back) is its first occurrence, ``fold=0``: in
  Amsterdam on 2024-10-27 a range 00:00-02:30 ends at the first 02:30 (CEST), and a
  range 02:30-04:00 starts then and so also contains the repeated hour (2.5 real hours).

Slot grid. Each range is cut into slots on its own grid: starts at ``range start +
k * interval`` in elapsed time, each slot ``[start, start + duration)`` ending no later
than the range's end. For a range without a clock change in it (all usual ones) the
grid reads as local times (09:00, 09:15, …); one that contains a change keeps stepping
in real minutes, so every slot lasts its real duration. The grid does not depend on
the requested window.

Bookings, buffers and busy time. An existing booking blocks ``[start -
its buffer_before, end + its buffer_after)``, its own meeting type's buffers. A new
slot at ``s`` needs ``[s - rules.buffer_before, s + duration + rules.buffer_after)``.
A slot is offered only if that padded interval overlaps no booking's blocked interval
and no busy interval (busy intervals have no buffers of their own; the new slot's
buffers do apply to them). Intervals are half-open: touching is not overlapping, so
with no buffers a slot may start exactly when a booking ends. Buffers need not lie
inside availability; only the meeting ``[s, s + duration)`` must. Pass pending and
confirmed bookings (pending ones hold their slot), not cancelled ones.

Notice and horizon. A slot starts no earlier than ``now + minimum_notice``. With
``horizon_days = N`` a slot starts before the local midnight that ends the date ``N``
days after today (today = ``now``'s date in the schedule's zone): N = 0 is today
only, N = 30 is today and the next 30 dates. The horizon thus ends at a local midnight
(resolved as above if midnight falls in a gap). ``None`` means no horizon.

Limits. Bookings with ``counts_toward_limits`` (those of the same meeting type) are
counted per local date of their start in the schedule's zone, and per ISO week
(``date.isocalendar()`` year and week, Monday to Sunday) of that date. A date whose
count has reached ``limit_per_day``, or whose ISO week's count has reached
``limit_per_week``, offers no slots at all. A slot belongs to the local date of its
range, which is the local date of its start.

Window. Of all slots, those with ``window_start <= start < window_end`` are returned
(a slot may end after ``window_end``), so asking for a window in one piece or in two
adjacent pieces gives the same slots.

Invitees. :func:`slots_by_local_date` groups slots by date in the invitee's zone (each
slot's own UTC offset, so a change of the invitee's clocks is handled) for a month view.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from afspraak.scheduling.availability import (
    FRIDAY,
    MONDAY,
    SATURDAY,
    SUNDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    TimeRange,
    WeeklySchedule,
    availability_between,
    local_date_of,
    resolve_local_time,
    start_of_local_day,
)
from afspraak.scheduling.intervals import Interval, IntervalSet, require_aware

__all__ = [
    "FRIDAY",
    "MONDAY",
    "SATURDAY",
    "SUNDAY",
    "THURSDAY",
    "TUESDAY",
    "WEDNESDAY",
    "Booking",
    "Interval",
    "SlotRules",
    "TimeRange",
    "WeeklySchedule",
    "booking_horizon_end",
    "compute_free_slots",
    "is_slot_offered",
    "resolve_local_time",
    "slots_by_local_date",
]

_ZERO = timedelta(0)


def _utc(value: datetime) -> datetime:
    # Times from the database are in UTC already, and converting hundreds of them on
    # every call would be a large share of the engine's time.
    return value if value.tzinfo is UTC else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Booking:
    """An existing pending or confirmed booking of the host, with its own type's buffers."""

    start: datetime
    end: datetime
    buffer_before: timedelta = _ZERO
    buffer_after: timedelta = _ZERO
    counts_toward_limits: bool = True

    def __post_init__(self) -> None:
        # The interval's own checks: both ends aware, the end after the start.
        Interval(self.start, self.end)
        if self.buffer_before < _ZERO or self.buffer_after < _ZERO:
            raise ValueError("a booking's buffers must not be negative")

    @property
    def blocked(self) -> Interval:
        """Return the time the booking occupies, its buffers included."""
        return Interval(self.start - self.buffer_before, self.end + self.buffer_after)


@dataclass(frozen=True, slots=True)
class SlotRules:
    """A meeting type's slot settings; ``interval=None`` steps by the duration."""

    duration: timedelta
    interval: timedelta | None = None
    buffer_before: timedelta = _ZERO
    buffer_after: timedelta = _ZERO
    minimum_notice: timedelta = _ZERO
    horizon_days: int | None = None
    limit_per_day: int | None = None
    limit_per_week: int | None = None

    def __post_init__(self) -> None:
        if self.duration <= _ZERO:
            raise ValueError("the duration must be positive")
        if self.interval is not None and self.interval <= _ZERO:
            raise ValueError("the slot interval must be positive")
        if min(self.buffer_before, self.buffer_after, self.minimum_notice) < _ZERO:
            raise ValueError("buffers and minimum notice must not be negative")
        if self.horizon_days is not None and self.horizon_days < 0:
            raise ValueError("the booking horizon must not be negative")
        for name in ("limit_per_day", "limit_per_week"):
            limit = getattr(self, name)
            if limit is not None and limit < 1:
                raise ValueError(f"{name} must be at least 1, or None for no limit")

    @property
    def step(self) -> timedelta:
        """Return the distance between consecutive slot starts."""
        return self.duration if self.interval is None else self.interval

    def blocked_for(self, start: datetime) -> Interval:
        """Return the time a meeting starting then occupies, its buffers included."""
        return Interval(start - self.buffer_before, start + self.duration + self.buffer_after)


def booking_horizon_end(
    schedule: WeeklySchedule, rules: SlotRules, now: datetime
) -> datetime | None:
    """Return the instant before which slots must start, or None without a horizon."""
    require_aware(now, "now")
    if rules.horizon_days is None:
        return None
    today = local_date_of(now, schedule.timezone)
    return start_of_local_day(today + timedelta(days=rules.horizon_days + 1), schedule.timezone)


def _full_dates(
    schedule: WeeklySchedule, rules: SlotRules, bookings: Iterable[Booking]
) -> tuple[set[date], set[tuple[int, int]]]:
    if rules.limit_per_day is None and rules.limit_per_week is None:
        return set(), set()
    per_day: Counter[date] = Counter()
    per_week: Counter[tuple[int, int]] = Counter()
    for booking in bookings:
        if booking.counts_toward_limits:
            day = local_date_of(booking.start, schedule.timezone)
            per_day[day] += 1
            per_week[day.isocalendar()[:2]] += 1
    full_days = (
        {day for day, count in per_day.items() if count >= rules.limit_per_day}
        if rules.limit_per_day is not None
        else set()
    )
    full_weeks = (
        {week for week, count in per_week.items() if count >= rules.limit_per_week}
        if rules.limit_per_week is not None
        else set()
    )
    return full_days, full_weeks


def compute_free_slots(
    schedule: WeeklySchedule,
    rules: SlotRules,
    *,
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    bookings: Iterable[Booking] = (),
    busy: Iterable[Interval] = (),
) -> list[datetime]:
    """Return the sorted UTC starts of the free slots that start in [window_start, window_end)."""
    require_aware(window_start, "window_start")
    require_aware(window_end, "window_end")
    require_aware(now, "now")
    if window_end < window_start:
        raise ValueError("the window must not end before it starts")
    bookings = list(bookings)
    earliest = max(_utc(window_start), _utc(now + rules.minimum_notice))
    latest = _utc(window_end)
    horizon_end = booking_horizon_end(schedule, rules, now)
    if horizon_end is not None:
        latest = min(latest, horizon_end)
    if earliest >= latest:
        return []

    duration, step = rules.duration, rules.step
    # Widen each blocker once instead of every slot: a blocker reaching back by the new
    # slot's after-buffer and forward by its before-buffer overlaps the bare slot exactly
    # when the blocker overlaps the slot widened by its buffers.
    reach_back, reach_forward = rules.buffer_after, rules.buffer_before
    blocked = IntervalSet(
        [
            (
                _utc(booking.start - booking.buffer_before - reach_back),
                _utc(booking.end + booking.buffer_after + reach_forward),
            )
            for booking in bookings
        ]
        + [(_utc(item.start - reach_back), _utc(item.end + reach_forward)) for item in busy]
    )
    full_days, full_weeks = _full_dates(schedule, rules, bookings)

    slots: list[datetime] = []
    for day, available in availability_between(schedule, earliest, latest):
        if day in full_days or day.isocalendar()[:2] in full_weeks:
            continue
        anchor = available.start
        for free_start, free_end in blocked.free_parts(available.start, available.end):
            lowest = max(free_start, earliest)
            # The first grid point at or after `lowest`: ceiling division of timedeltas.
            start = anchor + -((anchor - lowest) // step) * step
            while start < latest and start + duration <= free_end:
                slots.append(start)
                start += step
    return slots


def is_slot_offered(
    schedule: WeeklySchedule,
    rules: SlotRules,
    start: datetime,
    *,
    now: datetime,
    bookings: Iterable[Booking] = (),
    busy: Iterable[Interval] = (),
) -> bool:
    """Tell whether a slot starting at this instant is offered (the booking re-check)."""
    require_aware(start, "start")
    offered = compute_free_slots(
        schedule,
        rules,
        window_start=start,
        window_end=start + timedelta(microseconds=1),
        now=now,
        bookings=bookings,
        busy=busy,
    )
    return offered == [start.astimezone(UTC)]


def slots_by_local_date(slots: Iterable[datetime], zone: tzinfo) -> dict[date, list[datetime]]:
    """Group slots by their date in the (invitee's) zone, as datetimes in that zone, in order."""
    slots = list(slots)
    for slot in slots:
        require_aware(slot, "slot")
    grouped: dict[date, list[datetime]] = {}
    for slot in sorted(slots):
        local = slot.astimezone(zone)
        grouped.setdefault(local.date(), []).append(local)
    return grouped

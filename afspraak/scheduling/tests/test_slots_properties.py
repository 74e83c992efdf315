"""Properties of the slot engine on random schedules, bookings, busy time and rules.

For a zone with clock changes, the window is drawn around one of its 2024 change dates
about half the time, so many examples meet a gap or a repeated hour. The checks read
the rules of the ``afspraak.scheduling.slots`` docstring directly (padded overlaps,
wall-clock bounds found by trying both readings and walking through gaps, limits
counted here), and one property compares the engine with a naive reference that tries
every grid point of every range.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from afspraak.scheduling.availability import resolve_local_time
from afspraak.scheduling.slots import (
    Booking,
    Interval,
    SlotRules,
    TimeRange,
    WeeklySchedule,
    compute_free_slots,
)

# Each zone with the local dates of its 2024 clock changes.
ZONE_CHANGES = {
    "Europe/Amsterdam": [date(2024, 3, 31), date(2024, 10, 27)],
    "America/New_York": [date(2024, 3, 10), date(2024, 11, 3)],
    "Australia/Lord_Howe": [date(2024, 4, 7), date(2024, 10, 6)],
    # Santiago changes at midnight: back into 6 April, forward skipping 00:00 on 8 September.
    "America/Santiago": [date(2024, 4, 6), date(2024, 4, 7), date(2024, 9, 8)],
    "Asia/Kolkata": [],
    "UTC": [],
}
ZONES = list(ZONE_CHANGES)
DAY = timedelta(days=1)
MINUTES_PER_DAY = 24 * 60

property_settings = settings(max_examples=200, deadline=None)

MinuteRange = tuple[int, int]  # wall-clock minutes from midnight, [start, end), end <= 1440


@dataclass(frozen=True)
class Scenario:
    zone: ZoneInfo
    weekly: dict[int, list[MinuteRange]]
    overrides: dict[date, list[MinuteRange]]
    rules: SlotRules
    window_start: datetime
    window_end: datetime
    now: datetime
    bookings: list[Booking]
    busy: list[Interval]

    def schedule(self) -> WeeklySchedule:
        return WeeklySchedule(
            self.zone,
            {day: [time_range(item) for item in items] for day, items in self.weekly.items()},
            {day: [time_range(item) for item in items] for day, items in self.overrides.items()},
        )

    def slots(
        self, window_start: datetime | None = None, window_end: datetime | None = None
    ) -> list[datetime]:
        return compute_free_slots(
            self.schedule(),
            self.rules,
            window_start=self.window_start if window_start is None else window_start,
            window_end=self.window_end if window_end is None else window_end,
            now=self.now,
            bookings=self.bookings,
            busy=self.busy,
        )

    def raw_ranges_on(self, day: date) -> list[MinuteRange]:
        if day in self.overrides:
            return self.overrides[day]
        return self.weekly.get(day.weekday(), [])


def time_range(item: MinuteRange) -> TimeRange:
    start, end = item
    return TimeRange(
        time(start // 60, start % 60),
        time(0) if end == MINUTES_PER_DAY else time(end // 60, end % 60),
    )


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


# Strategies


# Built once: strategies made inside the composite would be validated again on every draw.
minute_ranges = st.builds(
    lambda start, length: (start * 5, min(start * 5 + length * 5, MINUTES_PER_DAY)),
    st.integers(0, MINUTES_PER_DAY // 5 - 1),
    st.integers(1, 8 * 12),
)
five_minute_steps = st.integers(0, 9).map(lambda count: minutes(5 * count))
# Starts, in 5-minute steps, from 2 days before the window start to 5 days after it.
near_window = st.integers(-2 * MINUTES_PER_DAY // 5, 5 * MINUTES_PER_DAY // 5).map(
    lambda count: minutes(5 * count)
)
lengths = st.integers(1, 48).map(lambda count: minutes(5 * count))
booking_parts = st.lists(
    st.tuples(near_window, lengths, five_minute_steps, five_minute_steps, st.booleans()),
    max_size=12,
)
busy_parts = st.lists(st.tuples(near_window, lengths), max_size=12)
any_date = st.dates(date(2024, 1, 1), date(2025, 12, 31))
base_dates = {
    zone: st.one_of(st.sampled_from(changes), any_date) if changes else any_date
    for zone, changes in ZONE_CHANGES.items()
}
rules = st.builds(
    SlotRules,
    duration=st.integers(1, 24).map(lambda count: minutes(5 * count)),
    interval=st.none() | st.integers(2, 12).map(lambda count: minutes(5 * count)),
    buffer_before=st.integers(0, 6).map(lambda count: minutes(5 * count)),
    buffer_after=st.integers(0, 6).map(lambda count: minutes(5 * count)),
    minimum_notice=st.one_of(st.just(0), st.integers(0, 4 * 4), st.integers(0, 72 * 4)).map(
        lambda count: minutes(15 * count)
    ),
    horizon_days=st.none() | st.integers(0, 10),
    limit_per_day=st.none() | st.integers(1, 4),
    limit_per_week=st.none() | st.integers(1, 8),
)
weekly_ranges = st.dictionaries(
    st.integers(0, 6), st.lists(minute_ranges, min_size=1, max_size=3), min_size=4
)
override_ranges = st.dictionaries(
    st.integers(-2, 5), st.lists(minute_ranges, max_size=2), max_size=3
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    zone_name = draw(st.sampled_from(ZONES))
    base = draw(base_dates[zone_name])
    # The window starts from a day and a half before the base date's midnight (UTC) to
    # half a day after it, and lasts 6 hours to 4 days: it mostly covers the base date.
    window_start = datetime.combine(base, time(0), tzinfo=UTC) + minutes(
        draw(st.integers(-36 * 60, 12 * 60))
    )
    return Scenario(
        zone=ZoneInfo(zone_name),
        weekly=draw(weekly_ranges),
        overrides={base + offset * DAY: items for offset, items in draw(override_ranges).items()},
        rules=draw(rules),
        window_start=window_start,
        window_end=window_start + minutes(draw(st.integers(6 * 60, 4 * MINUTES_PER_DAY))),
        # Mostly before the window, as when an invitee looks ahead; sometimes inside it.
        now=window_start + minutes(draw(st.integers(-2 * MINUTES_PER_DAY, MINUTES_PER_DAY // 2))),
        bookings=[
            Booking(
                window_start + offset,
                window_start + offset + length,
                buffer_before=before,
                buffer_after=after,
                counts_toward_limits=counts,
            )
            for offset, length, before, after, counts in draw(booking_parts)
        ],
        busy=[
            Interval(window_start + offset, window_start + offset + length)
            for offset, length in draw(busy_parts)
        ],
    )


# The rules, checked the slow and obvious way


def wall_clock(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def earliest_instant_reading(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """Return the earliest instant whose wall clock reads the bound or later, found by trial."""
    wall = datetime.combine(day, time(0)) + minutes(minute)
    readings = [wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)]
    valid = [instant for instant in readings if wall_clock(instant, zone) == wall]
    if valid:
        return min(valid)
    # In a gap: walk on from before it until the clock has jumped past the bound.
    instant = min(readings)
    while wall_clock(instant, zone) < wall:
        instant += minutes(1)
    return instant


def merged(ranges: list[MinuteRange]) -> list[MinuteRange]:
    result: list[MinuteRange] = []
    for start, end in sorted(ranges):
        if result and start <= result[-1][1]:
            result[-1] = (result[-1][0], max(result[-1][1], end))
        else:
            result.append((start, end))
    return result


def availability_on(scenario: Scenario, day: date) -> list[tuple[datetime, datetime]]:
    return [
        (
            earliest_instant_reading(day, start, scenario.zone),
            earliest_instant_reading(day, end, scenario.zone),
        )
        for start, end in merged(scenario.raw_ranges_on(day))
    ]


def padded_slot(scenario: Scenario, start: datetime) -> tuple[datetime, datetime]:
    rules = scenario.rules
    return start - rules.buffer_before, start + rules.duration + rules.buffer_after


def overlaps(first: tuple[datetime, datetime], second: tuple[datetime, datetime]) -> bool:
    return first[0] < second[1] and second[0] < first[1]


def conflicts(scenario: Scenario, start: datetime) -> bool:
    padded = padded_slot(scenario, start)
    return any(
        overlaps(
            padded, (booking.start - booking.buffer_before, booking.end + booking.buffer_after)
        )
        for booking in scenario.bookings
    ) or any(overlaps(padded, (item.start, item.end)) for item in scenario.busy)


def horizon_end(scenario: Scenario) -> datetime | None:
    if scenario.rules.horizon_days is None:
        return None
    today = scenario.now.astimezone(scenario.zone).date()
    return earliest_instant_reading(
        today + (scenario.rules.horizon_days + 1) * DAY, 0, scenario.zone
    )


def full_days_and_weeks(scenario: Scenario) -> tuple[set[date], set[tuple[int, int]]]:
    rules = scenario.rules
    days = Counter(
        booking.start.astimezone(scenario.zone).date()
        for booking in scenario.bookings
        if booking.counts_toward_limits
    )
    weeks: Counter[tuple[int, int]] = Counter()
    for day, count in days.items():
        weeks[day.isocalendar()[:2]] += count
    return (
        {
            day
            for day, count in days.items()
            if rules.limit_per_day and count >= rules.limit_per_day
        },
        {
            week
            for week, count in weeks.items()
            if rules.limit_per_week and count >= rules.limit_per_week
        },
    )


def reference_slots(scenario: Scenario) -> list[datetime]:
    """Try every grid point of every range on every date near the window."""
    rules, zone = scenario.rules, scenario.zone
    step = rules.interval or rules.duration
    horizon = horizon_end(scenario)
    full_days, full_weeks = full_days_and_weeks(scenario)
    slots = []
    day = scenario.window_start.astimezone(zone).date() - 2 * DAY
    while day <= scenario.window_end.astimezone(zone).date() + 2 * DAY:
        if day not in full_days and day.isocalendar()[:2] not in full_weeks:
            for range_start, range_end in availability_on(scenario, day):
                start = range_start
                while start + rules.duration <= range_end:
                    if (
                        scenario.window_start <= start < scenario.window_end
                        and start >= scenario.now + rules.minimum_notice
                        and (horizon is None or start < horizon)
                        and not conflicts(scenario, start)
                    ):
                        slots.append(start)
                    start += step
        day += DAY
    return slots


# Properties
#
# The rule checks share one test so that each random scenario, whose generation costs
# more than the engine, is drawn once for all of them.


def check_no_overlap(scenario: Scenario, slots: list[datetime]) -> None:
    for slot in slots:
        assert not conflicts(scenario, slot), f"{slot} overlaps a booking or busy time"


def check_inside_availability(scenario: Scenario, slots: list[datetime]) -> None:
    by_date: dict[date, list[tuple[datetime, datetime]]] = {}
    for slot in slots:
        local_date = slot.astimezone(scenario.zone).date()
        if local_date not in by_date:
            by_date[local_date] = availability_on(scenario, local_date)
        ranges = by_date[local_date]
        assert any(
            start <= slot and slot + scenario.rules.duration <= end for start, end in ranges
        ), f"{slot} is not inside one range of its local date"


def check_window_notice_and_horizon(scenario: Scenario, slots: list[datetime]) -> None:
    horizon = horizon_end(scenario)
    for slot in slots:
        assert scenario.window_start <= slot < scenario.window_end, f"{slot} is outside the window"
        assert slot >= scenario.now + scenario.rules.minimum_notice, f"{slot} is too soon"
        assert horizon is None or slot < horizon, f"{slot} is beyond the horizon {horizon}"


def check_limits(scenario: Scenario, slots: list[datetime]) -> None:
    full_days, full_weeks = full_days_and_weeks(scenario)
    for slot in slots:
        local_date = slot.astimezone(scenario.zone).date()
        assert local_date not in full_days, f"{slot} is on a full day"
        assert local_date.isocalendar()[:2] not in full_weeks, f"{slot} is in a full week"


def check_sorted_unique_utc(slots: list[datetime]) -> None:
    assert slots == sorted(set(slots)), "slots are not sorted and unique"
    assert all(slot.tzinfo is UTC for slot in slots), "slots are not in UTC"


def check_split_window(scenario: Scenario, slots: list[datetime], fraction: float) -> None:
    cut = scenario.window_start + (scenario.window_end - scenario.window_start) * fraction
    halves = scenario.slots(scenario.window_start, cut) + scenario.slots(cut, scenario.window_end)
    assert halves == slots, f"the window cut at {cut} gives other slots"


@property_settings
@given(scenarios(), st.floats(0, 1))
def test_every_slot_obeys_every_rule(scenario: Scenario, fraction: float) -> None:
    slots = scenario.slots()

    check_no_overlap(scenario, slots)
    check_inside_availability(scenario, slots)
    check_window_notice_and_horizon(scenario, slots)
    check_limits(scenario, slots)
    check_sorted_unique_utc(slots)
    check_split_window(scenario, slots, fraction)


@property_settings
@given(scenarios())
def test_slots_match_a_naive_reference(scenario: Scenario) -> None:
    assert scenario.slots() == reference_slots(scenario)


zones_with_dates = st.sampled_from(ZONES).flatmap(
    lambda name: st.tuples(st.just(ZoneInfo(name)), base_dates[name])
)


@property_settings
# Every change in these zones happens between 00:00 and 03:00: draw those hours often.
@given(zones_with_dates, st.one_of(st.integers(0, MINUTES_PER_DAY), st.integers(0, 3 * 60)))
def test_a_wall_clock_bound_is_the_earliest_instant_reading_it(
    zone_and_day: tuple[ZoneInfo, date], minute: int
) -> None:
    zone, day = zone_and_day
    resolved = resolve_local_time(day, minutes(minute), zone)
    wall = datetime.combine(day, time(0)) + minutes(minute)

    assert resolved == earliest_instant_reading(day, minute, zone)
    assert wall_clock(resolved, zone) >= wall
    assert wall_clock(resolved - timedelta(seconds=1), zone) < wall

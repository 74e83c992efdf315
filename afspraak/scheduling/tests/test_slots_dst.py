"""The slot engine on the days the clocks change, in the host's zone and the invitee's.

The 2024 changes used (instants from the tz database):

- Europe/Amsterdam: 31 March 02:00 -> 03:00 at 01:00 UTC; 27 October 03:00 -> 02:00 at 01:00 UTC.
- America/New_York: 10 March 02:00 -> 03:00 at 07:00 UTC; 3 November 02:00 -> 01:00 at 06:00 UTC.
- Australia/Lord_Howe (a 30-minute shift): 6 October 02:00 -> 02:30 at 15:30 UTC on
  5 October; 7 April 02:00 -> 01:30 at 15:00 UTC on 6 April.
- America/Santiago: 8 September 00:00 -> 01:00 at 04:00 UTC (midnight is in the gap).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from afspraak.scheduling.slots import (
    Booking,
    SlotRules,
    TimeRange,
    WeeklySchedule,
    booking_horizon_end,
    compute_free_slots,
    slots_by_local_date,
)

DAY = timedelta(days=1)
LONG_AGO = datetime(2023, 1, 1, tzinfo=UTC)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


@dataclass(frozen=True)
class Change:
    zone_name: str
    day: date
    at: datetime  # the instant of the change, UTC
    shift: timedelta  # how far the clocks move: forward positive

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.zone_name)

    def __str__(self) -> str:
        return f"{self.zone_name}-{self.day}"


CHANGES = [
    Change(
        "Europe/Amsterdam", date(2024, 3, 31), datetime(2024, 3, 31, 1, tzinfo=UTC), minutes(60)
    ),
    Change(
        "Europe/Amsterdam", date(2024, 10, 27), datetime(2024, 10, 27, 1, tzinfo=UTC), minutes(-60)
    ),
    Change(
        "America/New_York", date(2024, 3, 10), datetime(2024, 3, 10, 7, tzinfo=UTC), minutes(60)
    ),
    Change(
        "America/New_York", date(2024, 11, 3), datetime(2024, 11, 3, 6, tzinfo=UTC), minutes(-60)
    ),
    Change(
        "Australia/Lord_Howe",
        date(2024, 10, 6),
        datetime(2024, 10, 5, 15, 30, tzinfo=UTC),
        minutes(30),
    ),
    Change(
        "Australia/Lord_Howe", date(2024, 4, 7), datetime(2024, 4, 6, 15, tzinfo=UTC), minutes(-30)
    ),
]


def every_day(zone: ZoneInfo, *ranges: TimeRange) -> WeeklySchedule:
    return WeeklySchedule(zone, {day: list(ranges) for day in range(7)})


def local_day_slots(
    schedule: WeeklySchedule, rules: SlotRules, day: date, bookings: Sequence[Booking] = ()
) -> list[datetime]:
    """Return the slots of one local date of the schedule's zone."""
    zone = schedule.timezone
    return compute_free_slots(
        schedule,
        rules,
        window_start=datetime.combine(day, time(0), tzinfo=zone),
        window_end=datetime.combine(day + DAY, time(0), tzinfo=zone),
        now=LONG_AGO,
        bookings=bookings,
    )


def wall_clock(slots: list[datetime], zone: ZoneInfo) -> list[str]:
    return [slot.astimezone(zone).strftime("%H:%M") for slot in slots]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


HALF_HOURS_9_TO_5 = [f"{hour:02}:{minute:02}" for hour in range(9, 17) for minute in (0, 30)]


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_nine_to_five_stays_nine_to_five_local_on_change_days(change: Change) -> None:
    zone = change.zone
    schedule = every_day(zone, TimeRange(time(9), time(17)))
    rules = SlotRules(minutes(30))

    by_day = {
        day: local_day_slots(schedule, rules, day)
        for day in (change.day - DAY, change.day, change.day + DAY)
    }

    for day, slots in by_day.items():
        assert wall_clock(slots, zone) == HALF_HOURS_9_TO_5, day
        assert slots[0].astimezone(zone).time() == time(9)
        assert (slots[-1] + rules.duration).astimezone(zone).time() == time(17)
        assert all(later - earlier == minutes(30) for earlier, later in pairwise(slots))
    before = by_day[change.day - DAY][0].astimezone(zone).utcoffset()
    after = by_day[change.day][0].astimezone(zone).utcoffset()
    assert before is not None
    assert after is not None
    assert after - before == change.shift


@pytest.mark.parametrize(
    ("change", "count"),
    # 00:00-06:00 lasts 6 hours minus the shift: 15-minute slots fill it exactly.
    [
        (CHANGES[0], 20),
        (CHANGES[1], 28),
        (CHANGES[2], 20),
        (CHANGES[3], 28),
        (CHANGES[4], 22),
        (CHANGES[5], 26),
    ],
    ids=str,
)
def test_range_over_the_change_holds_its_real_length(change: Change, count: int) -> None:
    zone = change.zone
    schedule = every_day(zone, TimeRange(time(0), time(6)))
    rules = SlotRules(minutes(15))

    slots = local_day_slots(schedule, rules, change.day)

    assert len(slots) == count
    assert slots[0] == datetime.combine(change.day, time(0), tzinfo=zone)
    assert slots[-1] + minutes(15) == datetime.combine(change.day, time(6), tzinfo=zone)
    assert all(later - earlier == minutes(15) for earlier, later in pairwise(slots))


@pytest.mark.parametrize(
    ("zone_name", "day", "hours", "expected"),
    [
        # The whole range is in the gap: nothing.
        ("Europe/Amsterdam", date(2024, 3, 31), (time(2), time(3)), []),
        # A start in the gap moves to the jump, 03:00 CEST.
        (
            "Europe/Amsterdam",
            date(2024, 3, 31),
            (time(2, 30), time(5)),
            [
                utc(2024, 3, 31, 1),
                utc(2024, 3, 31, 1, 30),
                utc(2024, 3, 31, 2),
                utc(2024, 3, 31, 2, 30),
            ],
        ),
        # An end in the gap moves to the jump too: 01:00-02:30 is one real hour.
        (
            "Europe/Amsterdam",
            date(2024, 3, 31),
            (time(1), time(2, 30)),
            [utc(2024, 3, 31, 0), utc(2024, 3, 31, 0, 30)],
        ),
        (
            "America/New_York",
            date(2024, 3, 10),
            (time(2, 30), time(5)),
            [
                utc(2024, 3, 10, 7),
                utc(2024, 3, 10, 7, 30),
                utc(2024, 3, 10, 8),
                utc(2024, 3, 10, 8, 30),
            ],
        ),
        # Lord Howe skips 02:00-02:30: 02:15 becomes 02:30 (+11).
        (
            "Australia/Lord_Howe",
            date(2024, 10, 6),
            (time(2, 15), time(4)),
            [utc(2024, 10, 5, 15, 30), utc(2024, 10, 5, 16), utc(2024, 10, 5, 16, 30)],
        ),
        # Santiago skips midnight: the day starts at 01:00 (-03).
        (
            "America/Santiago",
            date(2024, 9, 8),
            (time(0), time(2)),
            [utc(2024, 9, 8, 4), utc(2024, 9, 8, 4, 30)],
        ),
    ],
)
def test_range_bound_in_a_gap_moves_to_the_first_valid_instant_after_it(
    zone_name: str, day: date, hours: tuple[time, time], expected: list[datetime]
) -> None:
    schedule = every_day(ZoneInfo(zone_name), TimeRange(*hours))

    assert local_day_slots(schedule, SlotRules(minutes(30)), day) == expected


@pytest.mark.parametrize(
    ("zone_name", "day", "hours", "duration", "expected"),
    [
        # The first 02:30 is CEST (00:30 UTC); the range runs on through the repeated
        # hour to 04:00 CET (03:00 UTC).
        (
            "Europe/Amsterdam",
            date(2024, 10, 27),
            (time(2, 30), time(4)),
            30,
            [
                utc(2024, 10, 27, 0, 30),
                utc(2024, 10, 27, 1),
                utc(2024, 10, 27, 1, 30),
                utc(2024, 10, 27, 2),
                utc(2024, 10, 27, 2, 30),
            ],
        ),
        # An end in the repeated hour is its first occurrence too.
        (
            "Europe/Amsterdam",
            date(2024, 10, 27),
            (time(0), time(2, 30)),
            30,
            [
                utc(2024, 10, 26, 22),
                utc(2024, 10, 26, 22, 30),
                utc(2024, 10, 26, 23),
                utc(2024, 10, 26, 23, 30),
                utc(2024, 10, 27, 0),
            ],
        ),
        (
            "America/New_York",
            date(2024, 11, 3),
            (time(1, 30), time(3)),
            30,
            [
                utc(2024, 11, 3, 5, 30),
                utc(2024, 11, 3, 6),
                utc(2024, 11, 3, 6, 30),
                utc(2024, 11, 3, 7),
                utc(2024, 11, 3, 7, 30),
            ],
        ),
        # Lord Howe repeats 01:30-02:00: the first 01:45 is +11 (14:45 UTC), 03:00 is +10:30.
        (
            "Australia/Lord_Howe",
            date(2024, 4, 7),
            (time(1, 45), time(3)),
            15,
            [utc(2024, 4, 6, 14, 45) + minutes(15 * step) for step in range(7)],
        ),
    ],
)
def test_repeated_range_bound_takes_its_first_occurrence(
    zone_name: str, day: date, hours: tuple[time, time], duration: int, expected: list[datetime]
) -> None:
    schedule = every_day(ZoneInfo(zone_name), TimeRange(*hours))

    assert local_day_slots(schedule, SlotRules(minutes(duration)), day) == expected


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_booking_across_the_change_blocks_exactly_its_interval(change: Change) -> None:
    schedule = every_day(change.zone, TimeRange(time(0), time(6)))
    rules = SlotRules(minutes(15))
    booking = Booking(change.at - minutes(30), change.at + minutes(30))

    free = local_day_slots(schedule, rules, change.day)
    around_booking = local_day_slots(schedule, rules, change.day, [booking])

    covered = [change.at + minutes(offset) for offset in (-30, -15, 0, 15)]
    assert set(covered) <= set(free)
    assert around_booking == [slot for slot in free if slot not in covered]


def test_invitee_far_east_sees_the_hosts_change_day_over_two_dates() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    schedule = every_day(amsterdam, TimeRange(time(9), time(17)))
    slots = local_day_slots(schedule, SlotRules(minutes(30)), date(2024, 3, 31))

    grouped = slots_by_local_date(slots, ZoneInfo("Pacific/Auckland"))

    # 09:00 CEST is 07:00 UTC is 20:00 NZDT (+13).
    assert list(grouped) == [date(2024, 3, 31), date(2024, 4, 1)]
    assert [slot.strftime("%H:%M") for slot in grouped[date(2024, 3, 31)]] == [
        f"{hour}:{minute:02}" for hour in range(20, 24) for minute in (0, 30)
    ]
    assert [slot.strftime("%H:%M") for slot in grouped[date(2024, 4, 1)]] == [
        f"{hour:02}:{minute:02}" for hour in range(4) for minute in (0, 30)
    ]


def test_invitee_change_day_of_25_hours_gets_its_slots_on_that_date() -> None:
    schedule = every_day(ZoneInfo("UTC"), TimeRange(time(0), time(0)))
    new_york = ZoneInfo("America/New_York")
    slots = compute_free_slots(
        schedule,
        SlotRules(minutes(60)),
        window_start=utc(2024, 11, 2),
        window_end=utc(2024, 11, 6),
        now=LONG_AGO,
    )

    grouped = slots_by_local_date(slots, new_york)

    sunday = grouped[date(2024, 11, 3)]
    assert [slot.hour for slot in sunday] == [0, 1, 1, *range(2, 24)]
    assert [slot.utcoffset() for slot in sunday[1:3]] == [timedelta(hours=-4), timedelta(hours=-5)]
    assert len(grouped[date(2024, 11, 4)]) == 24


def test_invitee_sees_the_hosts_hours_shift_when_only_the_host_changed_clocks() -> None:
    schedule = every_day(ZoneInfo("America/New_York"), TimeRange(time(9), time(17)))
    rules = SlotRules(minutes(60))
    slots = local_day_slots(schedule, rules, date(2024, 3, 8)) + local_day_slots(
        schedule, rules, date(2024, 3, 11)
    )

    grouped = slots_by_local_date(slots, ZoneInfo("Europe/Amsterdam"))

    # New York moved to summer time on 10 March, Amsterdam only on 31 March.
    assert [slot.hour for slot in grouped[date(2024, 3, 8)]] == list(range(15, 23))
    assert [slot.hour for slot in grouped[date(2024, 3, 11)]] == list(range(14, 22))


@pytest.mark.parametrize(
    ("zone_name", "now", "horizon_days", "end"),
    [
        ("Europe/Amsterdam", utc(2024, 3, 30, 11), 0, utc(2024, 3, 30, 23)),
        ("Europe/Amsterdam", utc(2024, 3, 30, 11), 1, utc(2024, 3, 31, 22)),
        ("Europe/Amsterdam", utc(2024, 10, 26, 11), 1, utc(2024, 10, 27, 23)),
        ("Australia/Lord_Howe", utc(2024, 10, 5, 1), 1, utc(2024, 10, 6, 13)),
        # Midnight of 8 September does not exist in Santiago: the day starts at 01:00.
        ("America/Santiago", utc(2024, 9, 7, 16), 0, utc(2024, 9, 8, 4)),
    ],
)
def test_horizon_ends_at_local_midnight_across_changes(
    zone_name: str, now: datetime, horizon_days: int, end: datetime
) -> None:
    schedule = every_day(ZoneInfo(zone_name), TimeRange(time(9), time(17)))

    assert (
        booking_horizon_end(schedule, SlotRules(minutes(30), horizon_days=horizon_days), now) == end
    )

"""The slot engine on small cases whose free slots are worked out by hand.

The host works in Europe/Amsterdam (summer time, UTC+2, in June 2024). Monday
2024-06-03 opens the ISO week 23 that ends on Sunday 2024-06-09.
"""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from afspraak.scheduling.intervals import Interval, IntervalSet, merge_intervals
from afspraak.scheduling.slots import (
    FRIDAY,
    MONDAY,
    THURSDAY,
    TUESDAY,
    WEDNESDAY,
    Booking,
    SlotRules,
    TimeRange,
    WeeklySchedule,
    booking_horizon_end,
    compute_free_slots,
    is_slot_offered,
    slots_by_local_date,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY_3_JUNE = date(2024, 6, 3)
LONG_AGO = datetime(2024, 1, 1, tzinfo=UTC)


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """Return the instant of a wall time in Amsterdam, in UTC as the engine answers."""
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM).astimezone(UTC)


def at(day: date, wall_times: str) -> list[datetime]:
    """Return the UTC instants of space-separated 'HH:MM' wall times in Amsterdam on a date."""
    return [local(day, *map(int, text.split(":"))) for text in wall_times.split()]


def day_window(first: date, days: int = 1) -> dict[str, datetime]:
    return {"window_start": local(first, 0), "window_end": local(first + timedelta(days=days), 0)}


def workweek(
    *ranges: TimeRange, overrides: dict[date, list[TimeRange]] | None = None
) -> WeeklySchedule:
    return WeeklySchedule(
        AMSTERDAM,
        {day: list(ranges) for day in (MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY)},
        overrides or {},
    )


MORNING_AND_AFTERNOON = workweek(TimeRange(time(9), time(12)), TimeRange(time(13), time(17)))
MORNING = workweek(TimeRange(time(9), time(12)))


def free_slots(
    schedule: WeeklySchedule,
    rules: SlotRules,
    *,
    now: datetime = LONG_AGO,
    bookings: tuple[Booking, ...] = (),
    busy: tuple[Interval, ...] = (),
    first: date = MONDAY_3_JUNE,
    days: int = 1,
) -> list[datetime]:
    return compute_free_slots(
        schedule, rules, now=now, bookings=bookings, busy=busy, **day_window(first, days)
    )


# Availability and the grid


def test_weekly_ranges_give_slots_on_an_interval_grid() -> None:
    slots = free_slots(MORNING_AND_AFTERNOON, SlotRules(minutes(60), interval=minutes(30)))

    assert slots == at(
        MONDAY_3_JUNE,
        "09:00 09:30 10:00 10:30 11:00 13:00 13:30 14:00 14:30 15:00 15:30 16:00",
    )


def test_interval_defaults_to_the_duration() -> None:
    slots = free_slots(MORNING_AND_AFTERNOON, SlotRules(minutes(60)))

    assert slots == at(MONDAY_3_JUNE, "09:00 10:00 11:00 13:00 14:00 15:00 16:00")


def test_grid_is_anchored_at_the_start_of_each_range() -> None:
    schedule = workweek(TimeRange(time(9, 10), time(10, 30)), TimeRange(time(13, 5), time(14)))

    slots = free_slots(schedule, SlotRules(minutes(20), interval=minutes(30)))

    assert slots == at(MONDAY_3_JUNE, "09:10 09:40 10:10 13:05 13:35")


def test_touching_ranges_act_as_one_range() -> None:
    schedule = workweek(TimeRange(time(10), time(11)), TimeRange(time(9), time(10)))

    slots = free_slots(schedule, SlotRules(minutes(45), interval=minutes(15)))

    assert slots == at(MONDAY_3_JUNE, "09:00 09:15 09:30 09:45 10:00 10:15")


def test_range_may_end_at_midnight() -> None:
    schedule = workweek(TimeRange(time(22), time(0)))

    slots = free_slots(schedule, SlotRules(minutes(60)))

    assert slots == at(MONDAY_3_JUNE, "22:00 23:00")


def test_days_without_ranges_offer_nothing() -> None:
    saturday = date(2024, 6, 8)

    assert free_slots(MORNING, SlotRules(minutes(60)), first=saturday, days=2) == []


def test_override_replaces_the_weekday_hours() -> None:
    schedule = workweek(
        TimeRange(time(9), time(12)),
        overrides={MONDAY_3_JUNE: [TimeRange(time(14), time(16))]},
    )

    slots = free_slots(schedule, SlotRules(minutes(60)), days=2)

    assert slots == at(MONDAY_3_JUNE, "14:00 15:00") + at(date(2024, 6, 4), "09:00 10:00 11:00")


def test_empty_override_makes_the_day_unavailable() -> None:
    schedule = workweek(TimeRange(time(9), time(11)), overrides={MONDAY_3_JUNE: []})

    slots = free_slots(schedule, SlotRules(minutes(60)), days=2)

    assert slots == at(date(2024, 6, 4), "09:00 10:00")


def test_override_opens_a_day_without_weekly_hours() -> None:
    saturday = date(2024, 6, 8)
    schedule = workweek(
        TimeRange(time(9), time(11)), overrides={saturday: [TimeRange(time(10), time(12))]}
    )

    assert free_slots(schedule, SlotRules(minutes(60)), first=saturday) == at(
        saturday, "10:00 11:00"
    )


# Bookings, buffers and busy time


def test_booking_blocks_exactly_its_own_time() -> None:
    booking = Booking(local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 10, 30))

    slots = free_slots(MORNING, SlotRules(minutes(30)), bookings=(booking,))

    assert slots == at(MONDAY_3_JUNE, "09:00 09:30 10:30 11:00 11:30")


def test_buffers_of_both_meetings_add_up_and_touching_is_allowed() -> None:
    # The new slot needs 15 min after and 20 min before it; the booking holds 15 min
    # before and 10 min after itself. So a slot must end by 09:30 - 15 min or start at
    # 10:40 + 20 min: 09:00 and 11:00 touch the booking's padded time exactly.
    booking = Booking(
        local(MONDAY_3_JUNE, 10),
        local(MONDAY_3_JUNE, 10, 30),
        buffer_before=minutes(15),
        buffer_after=minutes(10),
    )
    rules = SlotRules(
        minutes(30), interval=minutes(15), buffer_before=minutes(20), buffer_after=minutes(15)
    )

    slots = free_slots(MORNING, rules, bookings=(booking,))

    assert slots == at(MONDAY_3_JUNE, "09:00 11:00 11:15 11:30")


def test_busy_interval_blocks_with_the_new_slots_buffers() -> None:
    busy = Interval(local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 10, 30))
    rules = SlotRules(minutes(30), interval=minutes(15), buffer_before=minutes(15))

    slots = free_slots(MORNING, rules, busy=(busy,))

    assert slots == at(MONDAY_3_JUNE, "09:00 09:15 09:30 10:45 11:00 11:15 11:30")


def test_buffers_may_lie_outside_availability() -> None:
    rules = SlotRules(minutes(60), buffer_before=minutes(30), buffer_after=minutes(30))

    slots = free_slots(MORNING, rules)

    assert slots == at(MONDAY_3_JUNE, "09:00 10:00 11:00")


def test_booking_outside_the_window_still_blocks_through_its_buffer() -> None:
    booking = Booking(
        local(MONDAY_3_JUNE, 9, 30), local(MONDAY_3_JUNE, 10), buffer_after=minutes(30)
    )

    slots = compute_free_slots(
        MORNING,
        SlotRules(minutes(30)),
        window_start=local(MONDAY_3_JUNE, 10),
        window_end=local(MONDAY_3_JUNE, 12),
        now=LONG_AGO,
        bookings=[booking],
    )

    assert slots == at(MONDAY_3_JUNE, "10:30 11:00 11:30")


# Notice and horizon


def test_minimum_notice_moves_the_first_slot_to_the_next_grid_point() -> None:
    now = local(MONDAY_3_JUNE, 8, 50)
    rules = SlotRules(minutes(30), minimum_notice=timedelta(hours=1))

    slots = free_slots(MORNING, rules, now=now)

    assert slots == at(MONDAY_3_JUNE, "10:00 10:30 11:00 11:30")


def test_slots_in_the_past_are_not_offered() -> None:
    slots = free_slots(MORNING, SlotRules(minutes(60)), now=local(MONDAY_3_JUNE, 10, 1))

    assert slots == at(MONDAY_3_JUNE, "11:00")


@pytest.mark.parametrize(
    ("horizon_days", "last_date"), [(0, date(2024, 6, 3)), (2, date(2024, 6, 5))]
)
def test_horizon_ends_at_the_local_midnight_after_the_last_date(
    horizon_days: int, last_date: date
) -> None:
    # Ranges at both ends of each day: a slot at 00:00 of the day after the last date is
    # less than 24 hours after `now`, and is still refused.
    schedule = workweek(TimeRange(time(0), time(1)), TimeRange(time(23), time(0)))
    rules = SlotRules(minutes(60), horizon_days=horizon_days)

    slots = free_slots(schedule, rules, now=local(MONDAY_3_JUNE, 8), days=5)

    assert slots[-1] == local(last_date, 23)
    assert local(last_date + timedelta(days=1), 0) not in slots
    assert booking_horizon_end(schedule, rules, local(MONDAY_3_JUNE, 8)) == local(
        last_date + timedelta(days=1), 0
    )


def test_no_horizon_means_no_end() -> None:
    rules = SlotRules(minutes(60))

    assert booking_horizon_end(MORNING, rules, LONG_AGO) is None
    assert free_slots(MORNING, rules, first=date(2030, 6, 3)) == at(
        date(2030, 6, 3), "09:00 10:00 11:00"
    )


# Limits


def test_day_at_its_limit_offers_no_slots() -> None:
    tuesday = date(2024, 6, 4)
    # 00:30 on Tuesday in Amsterdam is still Monday in UTC: it counts for Tuesday.
    just_after_midnight = Booking(local(tuesday, 0, 30), local(tuesday, 1))
    morning = Booking(local(tuesday, 9), local(tuesday, 10))
    rules = SlotRules(minutes(60), limit_per_day=2)

    slots = free_slots(MORNING, rules, bookings=(just_after_midnight, morning), days=3)

    assert slots == at(MONDAY_3_JUNE, "09:00 10:00 11:00") + at(
        date(2024, 6, 5), "09:00 10:00 11:00"
    )


def test_bookings_that_do_not_count_leave_the_day_open() -> None:
    tuesday = date(2024, 6, 4)
    other_type = Booking(local(tuesday, 9), local(tuesday, 10), counts_toward_limits=False)
    same_type = Booking(local(tuesday, 11), local(tuesday, 12))
    rules = SlotRules(minutes(60), limit_per_day=2)

    slots = free_slots(MORNING, rules, bookings=(other_type, same_type), first=tuesday)

    assert slots == at(tuesday, "10:00")


@pytest.mark.parametrize(
    ("sunday_late", "week_23_open"),
    [
        (datetime(2024, 6, 9, 23, 30, tzinfo=AMSTERDAM), False),
        # 00:30 on Monday 10 June in Amsterdam is still Sunday 9 June in UTC: week 24.
        (datetime(2024, 6, 10, 0, 30, tzinfo=AMSTERDAM), True),
    ],
)
def test_week_at_its_limit_offers_no_slots(sunday_late: datetime, week_23_open: bool) -> None:
    bookings = (
        Booking(local(date(2024, 6, 4), 9), local(date(2024, 6, 4), 10)),
        Booking(local(date(2024, 6, 6), 9), local(date(2024, 6, 6), 10)),
        Booking(sunday_late, sunday_late + minutes(30)),
    )
    rules = SlotRules(minutes(60), limit_per_week=3)

    slots = free_slots(MORNING, rules, bookings=bookings, first=date(2024, 6, 7), days=4)

    friday_7, monday_10 = date(2024, 6, 7), date(2024, 6, 10)
    expected_next_week = at(monday_10, "09:00 10:00 11:00")
    if week_23_open:
        assert slots == at(friday_7, "09:00 10:00 11:00") + expected_next_week
    else:
        assert slots == expected_next_week


# Windows


def test_window_cut_mid_range_keeps_the_range_grid() -> None:
    slots = compute_free_slots(
        MORNING,
        SlotRules(minutes(30)),
        window_start=local(MONDAY_3_JUNE, 10, 10),
        window_end=local(MONDAY_3_JUNE, 11, 20),
        now=LONG_AGO,
    )

    # 11:00 ends after the window; it starts inside it, so it is offered.
    assert slots == at(MONDAY_3_JUNE, "10:30 11:00")


def test_window_end_is_exclusive() -> None:
    slots = compute_free_slots(
        MORNING,
        SlotRules(minutes(30)),
        window_start=local(MONDAY_3_JUNE, 9),
        window_end=local(MONDAY_3_JUNE, 10),
        now=LONG_AGO,
    )

    assert slots == at(MONDAY_3_JUNE, "09:00 09:30")


def test_window_may_be_given_in_any_zone_and_slots_come_back_in_utc() -> None:
    slots = compute_free_slots(
        MORNING,
        SlotRules(minutes(60)),
        window_start=datetime(2024, 6, 3, 3, tzinfo=NEW_YORK),
        window_end=datetime(2024, 6, 3, 5, tzinfo=NEW_YORK),
        now=LONG_AGO,
    )

    assert slots == at(MONDAY_3_JUNE, "09:00 10:00")
    assert all(slot.tzinfo is UTC for slot in slots)


def test_empty_window_offers_nothing() -> None:
    start = local(MONDAY_3_JUNE, 9)

    slots = compute_free_slots(
        MORNING, SlotRules(minutes(60)), window_start=start, window_end=start, now=LONG_AGO
    )

    assert slots == []


# The booking re-check and the invitee's view


def test_is_slot_offered_accepts_only_free_grid_points() -> None:
    rules = SlotRules(minutes(30))
    booking = Booking(local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 10, 30))

    def offered(start: datetime) -> bool:
        return is_slot_offered(MORNING, rules, start, now=LONG_AGO, bookings=[booking])

    assert offered(local(MONDAY_3_JUNE, 9, 30))
    assert offered(datetime(2024, 6, 3, 3, 30, tzinfo=NEW_YORK))
    assert not offered(local(MONDAY_3_JUNE, 9, 45))
    assert not offered(local(MONDAY_3_JUNE, 10))
    assert not offered(local(MONDAY_3_JUNE, 12))


def test_blocked_ranges_agree_with_the_engine() -> None:
    booking = Booking(
        local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 10, 30), buffer_after=minutes(10)
    )
    rules = SlotRules(minutes(30), interval=minutes(10), buffer_before=minutes(10))
    slots = free_slots(MORNING, rules, bookings=(booking,))

    assert booking.blocked == Interval(local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 10, 40))
    assert rules.blocked_for(local(MONDAY_3_JUNE, 10, 50)) == Interval(
        local(MONDAY_3_JUNE, 10, 40), local(MONDAY_3_JUNE, 11, 20)
    )
    grid = [local(MONDAY_3_JUNE, 9) + minutes(10 * step) for step in range(16)]
    for start in grid:
        assert (start in slots) == (not rules.blocked_for(start).overlaps(booking.blocked)), start


def test_slots_are_grouped_by_the_invitees_date() -> None:
    slots = free_slots(MORNING, SlotRules(minutes(60)), days=2)
    tokyo = ZoneInfo("Asia/Tokyo")

    grouped = slots_by_local_date(slots, tokyo)

    # 09:00-11:00 in Amsterdam (UTC+2) is 16:00-18:00 in Tokyo (UTC+9), the same date.
    assert list(grouped) == [date(2024, 6, 3), date(2024, 6, 4)]
    assert [slot.hour for slot in grouped[date(2024, 6, 3)]] == [16, 17, 18]
    assert all(slot.tzinfo is tokyo for day in grouped.values() for slot in day)


# Bad input


@pytest.mark.parametrize(
    "make",
    [
        lambda: TimeRange(time(12), time(9)),
        lambda: TimeRange(time(9), time(9)),
        lambda: TimeRange(time(9, tzinfo=UTC), time(10)),
        lambda: WeeklySchedule(AMSTERDAM, {7: [TimeRange(time(9), time(10))]}),
        lambda: SlotRules(timedelta(0)),
        lambda: SlotRules(minutes(30), interval=timedelta(0)),
        lambda: SlotRules(minutes(30), buffer_before=minutes(-5)),
        lambda: SlotRules(minutes(30), horizon_days=-1),
        lambda: SlotRules(minutes(30), limit_per_day=0),
        lambda: Booking(local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 9)),
        lambda: Booking(
            local(MONDAY_3_JUNE, 9).replace(tzinfo=None),
            local(MONDAY_3_JUNE, 10).replace(tzinfo=None),
        ),
        lambda: Interval(local(MONDAY_3_JUNE, 10), local(MONDAY_3_JUNE, 10)),
    ],
)
def test_invalid_inputs_are_rejected(make: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        make()


def test_schedule_needs_an_iana_zone() -> None:
    fixed_offset: Any = UTC
    with pytest.raises(TypeError, match="IANA"):
        WeeklySchedule(fixed_offset, {})


def test_naive_or_reversed_windows_are_rejected() -> None:
    rules = SlotRules(minutes(30))
    naive = local(MONDAY_3_JUNE, 9).replace(tzinfo=None)
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_free_slots(
            MORNING, rules, window_start=naive, window_end=local(MONDAY_3_JUNE, 12), now=LONG_AGO
        )
    with pytest.raises(ValueError, match="end before it starts"):
        compute_free_slots(
            MORNING,
            rules,
            window_start=local(MONDAY_3_JUNE, 12),
            window_end=local(MONDAY_3_JUNE, 9),
            now=LONG_AGO,
        )


# Interval arithmetic


def test_merge_joins_overlapping_and_touching_intervals() -> None:
    a, b, c, d, e = (local(MONDAY_3_JUNE, hour) for hour in (9, 10, 11, 12, 13))

    merged = merge_intervals([Interval(d, e), Interval(a, b), Interval(b, c), Interval(a, c)])

    assert merged == [Interval(a, c), Interval(d, e)]


def test_interval_set_subtracts_its_members() -> None:
    hours = [local(MONDAY_3_JUNE, hour) for hour in range(8, 18)]
    members = IntervalSet([(hours[1], hours[2]), (hours[4], hours[5]), (hours[5], hours[6])])

    assert members.free_parts(hours[0], hours[9]) == [
        (hours[0], hours[1]),
        (hours[2], hours[4]),
        (hours[6], hours[9]),
    ]
    assert members.free_parts(hours[2], hours[4]) == [(hours[2], hours[4])]
    assert members.free_parts(hours[4], hours[6]) == []
    assert members.overlaps(hours[3], hours[4] + minutes(1))
    assert not members.overlaps(hours[2], hours[4])

"""Benchmark the slot engine: 30 days of slots for a busy host.

Run: ``.venv/bin/python bench/slots.py``. Pure Python, no Django or database. The host
works Monday to Friday 09:00-12:00 and 13:00-17:30 and Saturday 10:00-14:00 in
Europe/Amsterdam, with one date override; the meeting type lasts 30 minutes on a
15-minute grid with 10 minutes of buffer before and 15 after, 4 hours of notice, a
60-day horizon and limits of 8 a day and 30 a week. The host has 200 existing bookings
(30 or 60 minutes, starting on a quarter hour from 09:00 to 16:45, with their own buffers)
and 500 busy calendar intervals (15 minutes to 90 minutes, 06:00-23:00 local, some
overlapping), spread over the 30 days at random with a fixed seed. The window runs
over the 30 days, so it crosses the clocks going back on 2024-10-27.

It prints the number of free slots and the median and p99 time of one computation over
many runs (target: median at most 20 ms), and the same for the host with an empty
calendar, where the engine has the most slots to step through.
"""

import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _figures import figure

from afspraak.scheduling.slots import (
    Booking,
    Interval,
    SlotRules,
    TimeRange,
    WeeklySchedule,
    compute_free_slots,
)

RUNS = 300
DAYS = 30
ZONE = ZoneInfo("Europe/Amsterdam")
FIRST_DAY = date(2024, 10, 14)
NOW = datetime(2024, 10, 14, 7, 30, tzinfo=UTC)


def _schedule() -> WeeklySchedule:
    workday = [TimeRange(clock(9), clock(12)), TimeRange(clock(13), clock(17, 30))]
    weekly = dict.fromkeys(range(5), workday) | {5: [TimeRange(clock(10), clock(14))]}
    return WeeklySchedule(ZONE, weekly, {date(2024, 10, 25): []})


def _local(day: date, minutes: int) -> datetime:
    """Return the UTC instant of a local wall time, as the database hands times over."""
    wall = datetime.combine(day, clock(0)) + timedelta(minutes=minutes)
    return wall.replace(tzinfo=ZONE).astimezone(UTC)


def _bookings(rng: random.Random) -> list[Booking]:
    bookings = []
    for _ in range(200):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        start = _local(day, rng.randrange(9 * 4, 17 * 4) * 15)
        bookings.append(
            Booking(
                start,
                start + timedelta(minutes=rng.choice((30, 60))),
                buffer_before=timedelta(minutes=rng.choice((0, 10))),
                buffer_after=timedelta(minutes=rng.choice((0, 15))),
                counts_toward_limits=rng.random() < 0.5,
            )
        )
    return bookings


def _busy(rng: random.Random) -> list[Interval]:
    busy = []
    for _ in range(500):
        day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
        start = _local(day, rng.randrange(6 * 60, 23 * 60, 5))
        busy.append(Interval(start, start + timedelta(minutes=rng.randrange(15, 91, 15))))
    return busy


def main() -> None:
    rng = random.Random(20241014)
    schedule = _schedule()
    rules = SlotRules(
        duration=timedelta(minutes=30),
        interval=timedelta(minutes=15),
        buffer_before=timedelta(minutes=10),
        buffer_after=timedelta(minutes=15),
        minimum_notice=timedelta(hours=4),
        horizon_days=60,
        limit_per_day=8,
        limit_per_week=30,
    )
    window_start = _local(FIRST_DAY, 0)
    window_end = _local(FIRST_DAY + timedelta(days=DAYS), 0)

    def measure(bookings: list[Booking], busy: list[Interval]) -> tuple[int, float, float]:
        """Return the slot count and the median and p99 time of one computation, in ms."""

        def run() -> list[datetime]:
            return compute_free_slots(
                schedule,
                rules,
                window_start=window_start,
                window_end=window_end,
                now=NOW,
                bookings=bookings,
                busy=busy,
            )

        count = len(run())
        timings = []
        for _ in range(RUNS):
            started = time.perf_counter()
            run()
            timings.append((time.perf_counter() - started) * 1000)
        return count, statistics.median(timings), statistics.quantiles(timings, n=100)[98]

    bookings, busy = _bookings(rng), _busy(rng)
    count, median, p99 = measure(bookings, busy)
    print(
        f"slot engine, {DAYS} days, {len(bookings)} bookings, {len(busy)} busy intervals, "
        f"15-min grid, 30-min meetings: {count} free slots"
    )
    print(f"  median {median:.2f} ms   p99 {p99:.2f} ms   ({RUNS} runs; target: median <= 20 ms)")
    figure("slots", f"free slots of {DAYS} days, busy host (median)", median, "ms", "<= 20")
    count, median, p99 = measure([], [])
    print(f"same host with an empty calendar: {count} free slots")
    print(f"  median {median:.2f} ms   p99 {p99:.2f} ms   ({RUNS} runs)")


if __name__ == "__main__":
    main()

from datetime import datetime

import pytest

from afspraak.bookings.timestyle import format_clock, prefers_twelve_hour


@pytest.mark.parametrize(
    ("header", "twelve_hour"),
    [
        ("en-US,en;q=0.9", True),
        ("en", True),
        ("en-CA", True),
        ("en_AU", True),
        ("es-US,es;q=0.9", True),
        ("ko-KR", True),
        ("zh-TW", True),
        ("en-GB,en-US;q=0.9", False),
        ("en-IE", False),
        ("nl-NL,nl;q=0.9,en-US;q=0.8", False),
        ("de", False),
        ("zh-CN", False),
        ("*", False),
        ("", False),
        (";;;,,", False),
    ],
)
def test_the_first_language_decides_the_clock(header, twelve_hour):
    assert prefers_twelve_hour(header) is twelve_hour


@pytest.mark.parametrize(
    ("hour", "minute", "twelve", "twenty_four"),
    [
        (0, 0, "12:00 AM", "00:00"),
        (9, 5, "9:05 AM", "09:05"),
        (12, 30, "12:30 PM", "12:30"),
        (23, 45, "11:45 PM", "23:45"),
    ],
)
def test_times_are_written_in_either_style(hour, minute, twelve, twenty_four):
    moment = datetime(2026, 12, 7, hour, minute)  # noqa: DTZ001 - a local wall-clock time
    assert format_clock(moment, twelve_hour=True) == twelve
    assert format_clock(moment, twelve_hour=False) == twenty_four

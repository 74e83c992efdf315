"""A frozen clock for tests: ``clock`` stops time at ``clock_start`` until the test moves it.

``clock`` is time-machine's traveller (``clock.move_to(moment)``, ``clock.shift(delta)``),
frozen (no tick), so two reads of the time in one test agree. A module that needs
another moment overrides the ``clock_start`` fixture.
"""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine

# A Tuesday, noon UTC: the following Monday 09:00 in Amsterdam is 2026-12-07 08:00 UTC.
CLOCK_START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    """Return the moment ``clock`` starts at (override it in a module for another)."""
    return CLOCK_START


@pytest.fixture
def clock(clock_start: datetime) -> Iterator[time_machine.Traveller]:
    """Freeze time at ``clock_start`` for the test; move it with ``clock.move_to``."""
    with time_machine.travel(clock_start, tick=False) as traveller:
        yield traveller

"""Half-open intervals of aware datetimes and the set operations the slot engine needs.

An :class:`Interval` is ``[start, end)``: it contains ``start`` and not ``end``, so two
intervals that only touch (one ends when the other starts) do not overlap. An
:class:`IntervalSet` is a union of them kept sorted and disjoint, so subtracting it from
an interval is a binary search plus a walk over the members that meet it.
"""

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime


def require_aware(value: datetime, name: str) -> None:
    """Raise ValueError unless the datetime carries a UTC offset."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {value!r}")


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """A non-empty half-open time interval ``[start, end)`` of aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware(self.start, "start")
        require_aware(self.end, "end")
        if not self.start < self.end:
            raise ValueError(f"an interval must end after it starts: {self.start} - {self.end}")

    def overlaps(self, other: "Interval") -> bool:
        """Tell whether the two intervals share an instant (touching ones do not)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: "Interval") -> bool:
        """Tell whether every instant of other lies in this interval."""
        return self.start <= other.start and other.end <= self.end


Span = tuple[datetime, datetime]
"""A bare ``(start, end)`` pair: the engine's fast internal form of an :class:`Interval`."""


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Return the union of the spans as sorted, disjoint, non-touching spans."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Return the union of the intervals as sorted, disjoint, non-touching intervals."""
    return [Interval(start, end) for start, end in merge_spans((i.start, i.end) for i in intervals)]


class IntervalSet:
    """A union of spans, kept sorted and disjoint, that can be subtracted from fast.

    It works on bare ``(start, end)`` tuples rather than :class:`Interval` objects: the
    engine builds one from hundreds of bookings on every call, and tuples sort in C.
    Every span must be non-empty (start before end).
    """

    __slots__ = ("_ends", "_spans")

    def __init__(self, spans: Iterable[Span] = ()) -> None:
        self._spans = merge_spans(spans)
        # Disjoint sorted members have sorted ends too: bisecting them finds the first
        # member that can meet a given instant.
        self._ends = [end for _, end in self._spans]

    def __iter__(self) -> Iterator[Span]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """Tell whether any member shares an instant with [start, end)."""
        index = bisect_right(self._ends, start)
        return index < len(self._spans) and self._spans[index][0] < end

    def free_parts(self, start: datetime, end: datetime) -> list[Span]:
        """Return the parts of [start, end) that no member covers, in order."""
        parts: list[Span] = []
        cursor = start
        index = bisect_right(self._ends, start)
        while index < len(self._spans) and self._spans[index][0] < end:
            member_start, member_end = self._spans[index]
            if member_start > cursor:
                parts.append((cursor, member_start))
            cursor = max(cursor, member_end)
            index += 1
        if cursor < end:
            parts.append((cursor, end))
        return parts

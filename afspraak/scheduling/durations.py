"""Lengths of time as people write them: "1 h 30 min", "2 d, 1 h" (pure Python, no Django).

Meeting types store whole minutes; hosts should never have to work out that a day is
1440 of them. A bare number still means minutes, so what was typed before keeps working.
"""

import re

from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.numbers import parse_whole_number

MINUTES_PER_HOUR = 60
MINUTES_PER_DAY = 24 * MINUTES_PER_HOUR
_UNITS = {
    "d": MINUTES_PER_DAY,
    "day": MINUTES_PER_DAY,
    "days": MINUTES_PER_DAY,
    "h": MINUTES_PER_HOUR,
    "hr": MINUTES_PER_HOUR,
    "hour": MINUTES_PER_HOUR,
    "hours": MINUTES_PER_HOUR,
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
}
_PART = re.compile(r"\s*([0-9]+)\s*([a-z]*)\s*", re.ASCII)
# Long enough for the longest length a meeting type takes (90 days of notice).
MAX_TEXT_LENGTH = 40


def format_minutes(minutes: int) -> str:
    """Return ``minutes`` as "2 d 1 h 30 min", the largest units first ("0 min" for none)."""
    days, rest = divmod(minutes, MINUTES_PER_DAY)
    hours, rest = divmod(rest, MINUTES_PER_HOUR)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{rest} min"] if rest or not parts else []
    return " ".join(parts)


def parse_length(text: str) -> int:
    """Return the minutes in "1 h 30 min", "2 d" or "90"; else InputRefusedError saying why."""
    cleaned = text.strip().lower()
    if not cleaned or len(cleaned) > MAX_TEXT_LENGTH:
        raise InputRefusedError('write a length like "1 h 30 min" or "2 d"')
    total, position = 0, 0
    while position < len(cleaned):
        match = _PART.match(cleaned, position)
        if match is None or match.end() == position:
            raise InputRefusedError('write a length like "1 h 30 min" or "2 d"')
        number, unit = match.groups()
        if unit and unit not in _UNITS:
            raise InputRefusedError(f"“{unit}” is not a unit: use d, h or min")
        total += parse_whole_number(number, maximum=10**6) * _UNITS[unit or "min"]
        position = match.end()
    return total


def format_lengths(minutes: list[int]) -> str:
    """Return several lengths as the text ``parse_lengths`` reads: "1 d, 1 h"."""
    return ", ".join(format_minutes(value) for value in minutes)


def parse_lengths(text: str) -> list[int]:
    """Return the minutes of each comma-separated length in ``text``; else InputRefusedError."""
    lengths = []
    for piece in (part.strip() for part in text.split(",")):
        if not piece:
            continue
        try:
            lengths.append(parse_length(piece))
        except InputRefusedError as refusal:
            raise InputRefusedError(f"“{piece[:MAX_TEXT_LENGTH]}”: {refusal}") from None
    return lengths

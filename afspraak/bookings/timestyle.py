"""How invitees read a time of day: 12-hour ("2:30 PM") or 24-hour ("14:30").

Taken from the browser's first Accept-Language: the places whose clocks CLDR writes
with a 12-hour cycle (its ``timeFormats``) get one, everyone else gets 24 hours. A
small table rather than a locale library: only this one choice is needed.
"""

from datetime import datetime

# English defaults to the United States' 12-hour clock; most English regions agree.
_TWELVE_HOUR_ENGLISH_REGIONS = frozenset({"", "us", "ca", "au", "nz", "in", "ph", "pk"})
# Languages whose clocks are 12-hour wherever they are spoken.
_TWELVE_HOUR_LANGUAGES = frozenset({"ar", "bn", "hi", "ko", "ur"})
# Language-region pairs that differ from the language's own default.
_TWELVE_HOUR_PAIRS = frozenset({("es", "us"), ("zh", "tw"), ("zh", "hant")})


def prefers_twelve_hour(accept_language: str) -> bool:
    """Tell whether the first language of an Accept-Language header reads a 12-hour clock."""
    first = accept_language.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if not first or first == "*":
        return False
    language, _, rest = first.replace("_", "-").partition("-")
    region = rest.split("-", 1)[0]
    if language == "en":
        return region in _TWELVE_HOUR_ENGLISH_REGIONS
    return language in _TWELVE_HOUR_LANGUAGES or (language, region) in _TWELVE_HOUR_PAIRS


def format_clock(moment: datetime, *, twelve_hour: bool) -> str:
    """Return the time of day of a local datetime: "2:30 PM" or "14:30"."""
    if not twelve_hour:
        return f"{moment:%H:%M}"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"

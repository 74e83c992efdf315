"""The time zones people choose from: IANA's canonical zones, shown with their offsets.

The list is ``zone.tab`` of the ``tzdata`` package (IANA's time zone database, a
dependency, so every machine has the same list whatever its operating system ships),
plus UTC. ``zone.tab`` names the zones people live in, at least one per country
(Europe/Amsterdam, America/New_York), and none of the names kept only for old
software: no ``Factory``, ``localtime``, ``W-SU``, ``EST5EDT``, ``US/…`` or ``Etc/…``.
Everything that takes a zone checks it against this one list (:func:`is_canonical_zone`).

Offsets change twice a year in many zones, so the options are labelled with the offset
at the hour they are rendered, and their HTML is kept per hour: rendering ~400 options
through the template engine on every booking page was most of that page's cost.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, available_timezones

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

UTC_NAME = "UTC"
NOT_A_ZONE = (
    "“{value}” is not a time zone we offer; choose one from the list (e.g. Europe/Amsterdam)."
)


@cache
def canonical_zones() -> frozenset[str]:
    """Return the names of the zones people may choose (read once from zone.tab)."""
    table = files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    names = {UTC_NAME}
    for line in table.splitlines():
        if line and not line.startswith("#"):
            # Columns: country code, coordinates, zone name, optional comment.
            names.add(line.split("\t")[2])
    # Only names this Python can load: a newer table than the zone files must not offer
    # a zone that then fails to open.
    return frozenset(names & available_timezones())


def is_canonical_zone(value: str) -> bool:
    """Tell whether ``value`` names one of the zones people may choose."""
    return value in canonical_zones()


def format_offset(offset: timedelta) -> str:
    """Return a UTC offset as "UTC+05:30" (and "UTC+00:00" for none)."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def zone_label(name: str, at: datetime) -> str:
    """Return how a zone is listed: its place and its offset at ``at`` ("Kolkata (UTC+05:30)")."""
    offset = at.astimezone(ZoneInfo(name)).utcoffset() or timedelta(0)
    place = name.split("/", 1)[1] if "/" in name else name
    return f"{place.replace('_', ' ').replace('/', ' / ')} ({format_offset(offset)})"


def _groups(at: datetime) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    by_region: dict[str, list[str]] = {}
    for name in canonical_zones() - {UTC_NAME}:
        by_region.setdefault(name.split("/", 1)[0], []).append(name)
    for region in sorted(by_region):
        yield region, [(name, zone_label(name, at)) for name in sorted(by_region[region])]


def _this_hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@lru_cache(maxsize=2)
def _zone_choices_at(hour: datetime) -> list[tuple[str, str | list[tuple[str, str]]]]:
    return [(UTC_NAME, UTC_NAME), *_groups(hour)]


def zone_choices(now: datetime) -> list[tuple[str, str | list[tuple[str, str]]]]:
    """Return the zones as grouped form choices: UTC, then one group per region."""
    return _zone_choices_at(_this_hour(now))


@lru_cache(maxsize=2)
def _options_html_at(hour: datetime) -> str:
    parts = [format_html('<option value="{}">{}</option>', UTC_NAME, UTC_NAME)]
    for region, zones in _groups(hour):
        options = format_html_join("", '<option value="{}">{}</option>', zones)
        parts.append(format_html('<optgroup label="{}">{}</optgroup>', region, options))
    return "".join(parts)


def zone_options_html(selected: str, now: datetime) -> SafeString:
    """Return the ``<option>``s of every zone, ``selected`` chosen, as HTML for a ``<select>``."""
    html = _options_html_at(_this_hour(now))
    if is_canonical_zone(selected):
        # Zone names hold only letters, digits, "_", "-", "+" and "/": nothing to escape.
        marker = f'<option value="{selected}">'
        html = html.replace(marker, f'<option value="{selected}" selected>', 1)
    return mark_safe(html)  # noqa: S308 - built from format_html, names checked above

"""The time zones people choose from: IANA's canonical zones, shown with their offsets.

The list is ``zone.tab`` of the ``tzdata`` package (IANA's time zone database, a
dependency, so every machine has the same list whatever its operating system ships),
plus UTC. ``zone.tab`` names the zones people live in, at least one per country
(Europe/Amsterdam, America/New_York), and none of the names kept only for old
software: no ``Factory``, ``localtime``, ``W-SU``, ``EST5EDT``, ``US/…`` or ``Etc/…``.
Everything that takes a zone checks it against this one list (:func:`is_canonical_zone`).

Offsets change twice a year in many zones, so the options are labelled with the offset
at the hour they are rendered, and their HTML is kept per hour: rendering ~400 options
through the template engine on every booking page was most of that page's cost. The
public pages do not carry the list at all: they name it by an address that holds its
hour and a hash of its content (:func:`zone_list_version`), which never changes and so
is cached for good by browsers, and show only the chosen zone until it is loaded.
"""

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from importlib.resources import files
from zoneinfo import ZoneInfo, available_timezones

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

UTC_NAME = "UTC"
# How old an hour's list may still be asked for: pages kept up to an hour name the list
# of the hour they were made in, and a browser may open an old tab later.
ZONE_LIST_HOURS_KEPT = 48
_ZONE_LIST_VERSION = re.compile(r"(\d{10})-([0-9a-f]{12})")
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


@lru_cache(maxsize=4)
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


@lru_cache(maxsize=4)
def _version_at(hour: datetime) -> str:
    digest = hashlib.sha256(_options_html_at(hour).encode()).hexdigest()[:12]
    return f"{hour:%Y%m%d%H}-{digest}"


def zone_list_version(now: datetime) -> str:
    """Return the version naming the zone list of ``now``'s hour: that hour and a content hash."""
    return _version_at(_this_hour(now))


def zone_list_html(version: str, now: datetime) -> SafeString | None:
    """Return the ``<option>``s of every zone that ``version`` names, or None for another version.

    Only the hours of the last ``ZONE_LIST_HOURS_KEPT`` hours (and the next) are served,
    and only with the hash of their content now: a list from before a time-zone update is
    gone, not served under the name of what it was.
    """
    match = _ZONE_LIST_VERSION.fullmatch(version)
    if match is None:
        return None
    try:
        hour = datetime.strptime(match[1], "%Y%m%d%H").replace(tzinfo=UTC)
    except ValueError:
        return None
    current = _this_hour(now)
    if not current - timedelta(hours=ZONE_LIST_HOURS_KEPT) <= hour <= current + timedelta(hours=1):
        return None
    if zone_list_version(hour) != version:
        return None
    return mark_safe(_options_html_at(hour))  # noqa: S308 - built from format_html


def chosen_zone_option_html(selected: str, now: datetime) -> SafeString:
    """Return the ``<option>`` of the chosen zone alone, selected, for a page without the list.

    An unknown ``selected`` gives UTC's, so the page always submits a zone it can show.
    """
    name = selected if is_canonical_zone(selected) else UTC_NAME
    label = UTC_NAME if name == UTC_NAME else zone_label(name, _this_hour(now))
    return format_html('<option value="{}" selected>{}</option>', name, label)

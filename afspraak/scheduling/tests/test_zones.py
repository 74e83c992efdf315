from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from afspraak.scheduling.models import validate_timezone_name, zone_or_none
from afspraak.scheduling.zones import (
    canonical_zones,
    chosen_zone_option_html,
    format_offset,
    zone_choices,
    zone_label,
    zone_list_html,
    zone_list_version,
    zone_options_html,
)

WINTER = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SUMMER = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    ["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "America/Argentina/Salta"],
)
def test_the_zones_people_live_in_are_offered(name):
    assert name in canonical_zones()
    assert zone_or_none(name) is not None
    validate_timezone_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "Factory",
        "localtime",
        "W-SU",
        "EST5EDT",
        "EST",
        "US/Eastern",
        "US/Pacific",
        "Etc/UTC",
        "Etc/GMT+5",
        "GMT",
        "Asia/Calcutta",
        "Mars/Olympus_Mons",
        "../../etc/passwd",
        "",
    ],
)
def test_aliases_legacy_names_and_junk_are_refused(name):
    assert name not in canonical_zones()
    assert zone_or_none(name) is None
    with pytest.raises(ValidationError, match="is not a time zone we offer"):
        validate_timezone_name(name)


def test_no_alias_or_legacy_family_is_left_in_the_list():
    assert not {name for name in canonical_zones() if name.startswith(("Etc/", "US/", "SystemV/"))}
    assert all("/" in name for name in canonical_zones() - {"UTC"})


def test_offsets_are_labelled_as_they_are_at_the_time_shown():
    assert zone_label("Europe/Amsterdam", WINTER) == "Amsterdam (UTC+01:00)"
    assert zone_label("Europe/Amsterdam", SUMMER) == "Amsterdam (UTC+02:00)"
    assert zone_label("Asia/Kolkata", WINTER) == "Kolkata (UTC+05:30)"
    assert zone_label("America/Argentina/Salta", WINTER) == "Argentina / Salta (UTC-03:00)"
    assert format_offset(timedelta(0)) == "UTC+00:00"
    assert format_offset(timedelta(hours=-9, minutes=-30)) == "UTC-09:30"


def test_choices_are_utc_then_one_sorted_group_per_region():
    choices = zone_choices(WINTER)
    assert choices[0] == ("UTC", "UTC")
    regions = [region for region, _ in choices[1:]]
    assert regions == sorted(regions)
    assert "Europe" in regions
    groups = {region: zones for region, zones in choices[1:] if isinstance(zones, list)}
    assert len(groups) == len(choices) - 1
    europe = [name for name, _ in groups["Europe"]]
    assert europe == sorted(europe)
    offered = {name for zones in groups.values() for name, _ in zones} | {"UTC"}
    assert offered == canonical_zones()


def test_the_options_mark_the_chosen_zone_only():
    html = zone_options_html("Asia/Tokyo", SUMMER)
    assert html.count(" selected") == 1
    assert '<option value="Asia/Tokyo" selected>Tokyo (UTC+09:00)</option>' in html
    assert '<optgroup label="Asia">' in html
    assert '<option value="Europe/Amsterdam">Amsterdam (UTC+02:00)</option>' in html


def test_an_unknown_chosen_zone_selects_nothing():
    html = zone_options_html('Europe/Amsterdam">', WINTER)
    assert " selected" not in html


def test_a_page_without_the_list_shows_the_chosen_zone_alone_or_utc():
    assert chosen_zone_option_html("Asia/Tokyo", SUMMER) == (
        '<option value="Asia/Tokyo" selected>Tokyo (UTC+09:00)</option>'
    )
    assert chosen_zone_option_html("US/Eastern", SUMMER) == (
        '<option value="UTC" selected>UTC</option>'
    )


def test_the_zone_lists_version_names_its_hour_and_content():
    version = zone_list_version(SUMMER + timedelta(minutes=59))
    assert version.startswith("2026071512-")
    assert zone_list_html(version, SUMMER) == zone_options_html("", SUMMER)
    # Offsets differ between winter and summer, so does the content's hash.
    assert zone_list_version(WINTER).split("-")[1] != version.split("-")[1]

"""The bounded parsers: deep, long or odd input is refused with words, never an exception."""

import pytest
from django.core.exceptions import ValidationError

from afspraak.inputs.days import LATEST_DAY, validate_day_in_range
from afspraak.inputs.errors import InputRefusedError
from afspraak.inputs.jsontext import load_json, nesting_depth
from afspraak.inputs.names import NAME_HAS_BIDI_CONTROLS, validate_name_text
from afspraak.inputs.numbers import parse_whole_number


def test_nesting_depth_ignores_brackets_inside_strings():
    assert nesting_depth('[{"a": "[[[{{{\\"]]]"}]') == 2


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * 50_000 + "]" * 50_000, "nests deeper than 32 levels"),
        ("9" * 5_000, "at most 20 digits"),
        ("1e999", "too large"),
        ("NaN", "not a number JSON allows"),
        ('{"a": ', "not valid JSON"),
        (b"\xff", "not UTF-8"),
        ('"' + "x" * 300_000 + '"', "larger than"),
    ],
)
def test_load_json_refuses_what_it_cannot_hold(text, reason):
    with pytest.raises(InputRefusedError, match=reason):
        load_json(text)


def test_load_json_reads_ordinary_json():
    assert load_json(b'{"a": [1, 2.5, "x", null]}') == {"a": [1, 2.5, "x", None]}


@pytest.mark.parametrize("text", ["²", "٣", "-1", "1.5", "", "9" * 5_000, "2147483648"])
def test_parse_whole_number_refuses_other_digits_and_huge_numbers(text):
    with pytest.raises(InputRefusedError):
        parse_whole_number(text)


def test_parse_whole_number_reads_ascii_digits_up_to_the_maximum():
    assert parse_whole_number(" 0060 ") == 60
    assert parse_whole_number("2147483647") == 2**31 - 1


def test_a_day_whose_next_day_the_calendar_lacks_is_refused():
    validate_day_in_range(LATEST_DAY)
    with pytest.raises(ValidationError, match="before the year 9999"):
        validate_day_in_range(LATEST_DAY.replace(year=9999))


@pytest.mark.parametrize("code", [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
def test_bidi_embeddings_overrides_and_isolates_are_refused(code):
    with pytest.raises(ValidationError) as refused:
        validate_name_text(f"Ada{chr(code)}gnp.exe")
    assert refused.value.messages == [NAME_HAS_BIDI_CONTROLS]


@pytest.mark.parametrize("name", ["Ada\nBcc: x@example.test", "Ada\u2028Lovelace", "A\x00"])
def test_names_on_more_than_one_line_are_refused(name):
    with pytest.raises(ValidationError, match="on one line"):
        validate_name_text(name)


@pytest.mark.parametrize(
    "name",
    [
        # Persian "I want": a zero-width non-joiner inside the word.
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "क्\u200dष",  # Devanagari: a zero-width joiner
        "\U0001f469\u200d\U0001f4bb Ada",  # an emoji sequence
        "עדה לאבלייס",  # right-to-left text needs no control characters
    ],
)
def test_names_that_need_joiners_are_accepted(name):
    validate_name_text(name)

"""Names people type (of invitees, organizations, meeting types, schedules, questions).

A name is shown in e-mail subjects, calendar files and other people's pages, so it
must read as what it is: one line, and no characters that reorder the text around them
(a RIGHT-TO-LEFT OVERRIDE, U+202E, before "gnp.exe" makes it read "exe.png"). Zero-width
joiners and non-joiners stay allowed: Persian, Indic scripts and emoji sequences need them.
"""

import unicodedata

from django.core.exceptions import ValidationError

# Embeddings and overrides (U+202A-U+202E) and isolates (U+2066-U+2069).
BIDI_CONTROLS = frozenset(chr(code) for code in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
# Control characters, and the line and paragraph separators, break a name over lines.
_LINE_BREAKING_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})

NAME_HAS_CONTROL_CHARACTERS = "Write the name on one line, without control characters."
NAME_HAS_BIDI_CONTROLS = (
    "Remove the invisible text-direction characters (U+202A to U+202E, U+2066 to U+2069): "
    "they make a name display as something else."
)


def validate_name_text(value: str) -> None:
    """Refuse a name with control characters, line breaks, or bidi embeddings and overrides."""
    if any(unicodedata.category(character) in _LINE_BREAKING_CATEGORIES for character in value):
        raise ValidationError(NAME_HAS_CONTROL_CHARACTERS, code="name_control_characters")
    if not BIDI_CONTROLS.isdisjoint(value):
        raise ValidationError(NAME_HAS_BIDI_CONTROLS, code="name_bidi_controls")

"""Whole numbers typed as text: ASCII digits only, and no larger than the caller can hold.

``str.isdigit`` says yes to "²" and "٣", which ``int`` then refuses or reads as another
number, and ``int`` reads thousands of digits slowly before the range check could run.
"""

from afspraak.inputs.errors import InputRefusedError

# The largest value a PostgreSQL integer column holds.
MAX_WHOLE_NUMBER = 2**31 - 1


def parse_whole_number(text: str, *, maximum: int = MAX_WHOLE_NUMBER) -> int:
    """Return the number written in ASCII digits, at most ``maximum``; else InputRefusedError."""
    digits = text.strip()
    if not (digits and digits.isascii() and digits.isdigit()):
        raise InputRefusedError("write it with the digits 0 to 9 only")
    if len(digits.lstrip("0")) > len(str(maximum)) or int(digits) > maximum:
        raise InputRefusedError(f"it must be at most {maximum}")
    return int(digits)

"""JSON with a ceiling on its size, nesting, number length and values.

Python's decoder recurses once per level of nesting, so ``[[[[…`` fifty thousand deep
raises RecursionError, and it converts integers of any length (thousands of digits
raise ValueError, or cost quadratic time below that limit). Both are refused here
before or while decoding, as is NaN or Infinity, which no database JSON type stores.
"""

import json
import math
import re
from typing import Any

from afspraak.inputs.errors import InputRefusedError

MAX_JSON_DEPTH = 32
MAX_JSON_BYTES = 256 * 1024
# Longer than any integer a database column holds (2**63 has 19 digits).
MAX_NUMBER_DIGITS = 20
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str) -> int:
    """Return how deep the arrays and objects of JSON text nest, without decoding it."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        if bracket.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InputRefusedError(f"Numbers may have at most {MAX_NUMBER_DIGITS} digits.")
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > 2 * MAX_NUMBER_DIGITS:
        raise InputRefusedError(f"Numbers may have at most {2 * MAX_NUMBER_DIGITS} characters.")
    value = float(text)
    if not math.isfinite(value):
        raise InputRefusedError("That number is too large.")
    return value


def _refuse_constant(name: str) -> Any:
    raise InputRefusedError(f"{name} is not a number JSON allows.")


def load_json(
    text: str | bytes, *, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """Decode JSON text within the size and nesting limits, or raise InputRefusedError."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise InputRefusedError(f"The JSON is larger than {max_bytes} bytes.")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InputRefusedError("The JSON is not UTF-8 text.") from None
    elif len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise InputRefusedError(f"The JSON is larger than {max_bytes} bytes.")
    if nesting_depth(text) > max_depth:
        raise InputRefusedError(f"The JSON nests deeper than {max_depth} levels.")
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except InputRefusedError:
        raise
    except ValueError as error:
        # JSONDecodeError's message names the line and column, which helps to fix it.
        raise InputRefusedError(f"This is not valid JSON: {error}.") from None

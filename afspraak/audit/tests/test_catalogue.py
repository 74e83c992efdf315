"""Every audit action code comes from the one catalogue."""

import ast
import re
from pathlib import Path

import pytest

from afspraak.audit.catalogue import ACTIONS, UncataloguedActionError
from afspraak.audit.models import AuditEvent
from afspraak.audit.trail import record

SOURCE = Path(__file__).resolve().parents[2]
CODE_SHAPE = re.compile(r"^[a-z_]+\.[a-z_]+(\.[a-z_]+)?$")


def _recorded_codes() -> dict[str, str]:
    """Return each code (an f-string's fixed part + "*") ``record(...)`` gets, by place."""
    found = {}
    for path in SOURCE.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            first = node.args[0]
            code = None
            if isinstance(first, ast.Constant):
                code = first.value
            elif isinstance(first, ast.JoinedStr) and isinstance(first.values[0], ast.Constant):
                # f"bookings.booking.{change}": its fixed part, marked by a trailing "*".
                code = str(first.values[0].value) + "*"
            if name == "record" and isinstance(code, str):
                found[code] = f"{path.relative_to(SOURCE)}:{node.lineno}"
    return found


def test_an_uncatalogued_code_is_refused_and_nothing_is_written(db):
    with pytest.raises(UncataloguedActionError, match="catalogue"):
        record("accounts.thing.invented")
    assert not AuditEvent.objects.exists()


def test_every_code_the_source_records_is_in_the_catalogue():
    codes = _recorded_codes()
    assert codes, "the scan found no record() calls: it is looking in the wrong place"
    missing = {
        code: place
        for code, place in codes.items()
        if code not in ACTIONS
        and not (code.endswith("*") and any(known.startswith(code[:-1]) for known in ACTIONS))
    }
    assert not missing, f"add these to afspraak/audit/catalogue.py: {missing}"


def test_every_catalogued_code_is_dotted_and_explained():
    for code, meaning in ACTIONS.items():
        assert CODE_SHAPE.match(code), code
        assert meaning.endswith("."), code

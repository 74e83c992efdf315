"""No module over 600 lines (docs/architecture.md, "Layers"): a longer one mixes concerns."""

from pathlib import Path

import afspraak

LIMIT = 600
SOURCE = Path(afspraak.__file__).parent


def test_no_module_is_over_600_lines():
    too_long = {
        str(path.relative_to(SOURCE)): length
        for path in SOURCE.rglob("*.py")
        if "migrations" not in path.parts
        and (length := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert not too_long, f"split these modules by concern: {too_long}"

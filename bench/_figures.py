"""Hand a benchmark's headline figures to the table ``make bench`` prints at the end.

Each benchmark prints its own detail; ``figure`` also appends one JSON line to the file
named by ``AFSPRAAK_BENCH_FIGURES`` (set by ``make bench``), which ``_table.py`` reads.
Run alone, a benchmark only prints.
"""

import json
import os
from pathlib import Path

FIGURES_FILE = "AFSPRAAK_BENCH_FIGURES"


def figure(benchmark: str, name: str, value: float, unit: str, target: str = "") -> None:
    """Record one figure of ``benchmark`` (``target`` in words, e.g. ">= 150")."""
    path = os.environ.get(FIGURES_FILE)
    if not path:
        return
    line = {"benchmark": benchmark, "name": name, "value": value, "unit": unit, "target": target}
    with Path(path).open("a", encoding="utf-8") as figures:
        figures.write(json.dumps(line) + "\n")

"""Print every benchmark's headline figures as one table: ``python bench/_table.py FILE``."""

import json
import sys
from pathlib import Path


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def main(path: str) -> None:
    """Read the figures ``_figures.figure`` wrote and print them aligned."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]
    header = ("benchmark", "figure", "value", "unit", "target")
    table = [header] + [
        (row["benchmark"], row["name"], _number(row["value"]), row["unit"], row["target"])
        for row in rows
    ]
    widths = [max(len(str(cells[i])) for cells in table) for i in range(len(header))]
    print("\n== every benchmark's figures")
    for index, cells in enumerate(table):
        print(
            "  ".join(
                str(cell).rjust(width) if column == 2 and index else str(cell).ljust(width)
                for column, (cell, width) in enumerate(zip(cells, widths, strict=True))
            ).rstrip()
        )
        if index == 0:
            print("  ".join("-" * width for width in widths))


if __name__ == "__main__":
    main(sys.argv[1])

"""Run ``-m MODULE ARGS…`` or ``-c SCRIPT`` at the time of a days-ahead setup's clock file.

``python -m afspraak.backups.tests.on_setup_clock CLOCK -m afspraak.cli backup run``: the
app's clock moves with time-machine (Python under libfaketime fails to start
subprocesses now and then, with EINVAL), by the offset in seconds the clock file holds,
the one libfaketime gives PostgreSQL and pgBackRest (``pgbackrest_servers``).
"""

import runpy
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import time_machine


def main() -> None:
    """Travel to the clock file's time and run the module or script there."""
    clock, mode, target, *rest = sys.argv[1:]
    offset = timedelta(seconds=float(Path(clock).read_text(encoding="utf-8")))
    with time_machine.travel(datetime.now(UTC) + offset, tick=True):
        if mode == "-m":
            sys.argv = [target, *rest]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *rest]
            # What ``python -c`` would run: a script the test itself wrote, never input.
            exec(compile(target, "<script>", "exec"), {"__name__": "__main__"})  # noqa: S102


if __name__ == "__main__":
    main()

"""Benchmark the public booking page against the anonymous home page on the real server.

Run: ``.venv/bin/python bench/pages.py``. It runs ``afspraak setup`` (with its demo
data) and ``afspraak serve`` in a temporary var directory, as ``make run`` does (two web
workers of four threads each, SQLite, the database cache), on free ports of 127.0.0.1,
and stops the server at the end. Then, for each page, ``CLIENTS`` threads each hold one
keep-alive TLS connection and request the page again and again for ``SECONDS`` seconds
(after a warm-up); it prints the requests per second of the home page ``/``, of the
demo booking page ``/demo/intro/`` and their ratio (target: at least 0.3).

The clients run in this process, on the same machine as the server, so the figures
compare the two pages rather than measure the server's absolute capacity. The machine
is shared, so the pages take turns (``ROUNDS`` turns of ``SECONDS / ROUNDS`` each):
a burst of someone else's work then weighs on both pages alike instead of on whichever
was measured at the time. The ratio is that of the two totals; the spread of the turns'
own ratios is printed beside it.
"""

import http.client
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _figures import figure

# Plain stdlib helpers (no pytest): the server tests start the server the same way.
from afspraak.server.tests.serving import (
    ServeProcess,
    client_context,
    run_afspraak,
    serve_environment,
)

CLIENTS = 8
SECONDS = 10.0
ROUNDS = 5
WARM_UP_SECONDS = 2.0
TARGET_RATIO = 0.3
# What a browser sends: its language, and that it takes gzip (answers are not unpacked
# here, as a browser's are, but the cost of that is small and on the visitor's side).
BROWSER_HEADERS = {"Accept-Language": "en-GB", "Accept-Encoding": "gzip, deflate, br"}
HOME = "/"
BOOKING_PAGE = "/demo/intro/"


def _hammer(
    context: ssl.SSLContext,
    port: int,
    path: str,
    until: float,
    counts: list[int],
    errors: list[str],
) -> None:
    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=30)
    done = 0
    try:
        while time.monotonic() < until:
            connection.request("GET", path, headers=BROWSER_HEADERS)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                errors.append(f"{path}: HTTP {response.status}")
                return
            done += 1
    finally:
        connection.close()
        counts.append(done)


def requests_per_second(context: ssl.SSLContext, port: int, path: str, seconds: float) -> float:
    """Return the rate at which ``CLIENTS`` keep-alive clients get ``path`` for ``seconds``."""
    counts: list[int] = []
    errors: list[str] = []
    started = time.monotonic()
    until = started + seconds
    threads = [
        threading.Thread(target=_hammer, args=(context, port, path, until, counts, errors))
        for _ in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    if errors:
        raise SystemExit(f"the server refused a request: {errors[0]}")
    return sum(counts) / elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="afspraak-bench-pages-") as scratch:
        var_dir = Path(scratch) / "var"
        var_dir.mkdir()
        # The workers and threads of ``make run`` (the settings' defaults).
        workers = {"AFSPRAAK_WEB_WORKERS": "2", "AFSPRAAK_WEB_THREADS": "4"}
        setup = run_afspraak(serve_environment(var_dir, 0, **workers), "setup", timeout=300)
        if setup.returncode != 0:
            raise SystemExit(f"afspraak setup failed:\n{setup.stdout}{setup.stderr}")
        server = ServeProcess.start(var_dir, Path(scratch) / "serve.log", **workers)
        try:
            context = client_context(server.ca_file)
            for path in (HOME, BOOKING_PAGE):
                requests_per_second(context, server.https_port, path, WARM_UP_SECONDS)
            turns = [
                (
                    requests_per_second(context, server.https_port, HOME, SECONDS / ROUNDS),
                    requests_per_second(context, server.https_port, BOOKING_PAGE, SECONDS / ROUNDS),
                )
                for _ in range(ROUNDS)
            ]
        finally:
            server.stop()
    home = sum(rates[0] for rates in turns) / ROUNDS
    booking = sum(rates[1] for rates in turns) / ROUNDS
    ratio = booking / home
    each = [rates[1] / rates[0] for rates in turns]
    print(f"{CLIENTS} keep-alive clients, 2 workers x 4 threads, {SECONDS:.0f} s a page")
    print(f"home page {HOME}:            {home:8.1f} requests/s")
    print(f"booking page {BOOKING_PAGE}: {booking:8.1f} requests/s")
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"ratio: {ratio:.2f} ({verdict} the target of {TARGET_RATIO})")
    print(f"each of the {ROUNDS} turns' ratio: {min(each):.2f} to {max(each):.2f}")
    figure("pages", f"home page {HOME}", home, "requests/s")
    figure("pages", f"booking page {BOOKING_PAGE}", booking, "requests/s")
    figure("pages", "booking page / home page", ratio, "x", f">= {TARGET_RATIO}")


if __name__ == "__main__":
    main()

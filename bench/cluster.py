"""Benchmark booking through the production shape: HAProxy, two app nodes, HTTPS.

Run: ``.venv/bin/python bench/cluster.py [CLIENTS]`` (as root, like ``make cluster``: it
starts the same cluster on loopback with ``afspraak/cluster/shape.py running_cluster`` —
two Patroni-managed PostgreSQL nodes, Redis, two app nodes with a job consumer, HAProxy —
and stops it afterwards). The booking client of the failover test sets up a host whose
30-minute meeting type is open around the clock; then CLIENTS (default 8) concurrent HTTP
clients, each with its own HTTPS session through HAProxy, book distinct slots through the
public booking form (the page for its CSRF cookie once, then one POST per booking, as a
browser does: every middleware, the rate limit and the session in Redis, the audit event,
the outbox). It prints bookings per second (answers 302, the booking made) and the 95th
percentile of the POSTs' latency; any other answer fails the run.

The public booking limit per address is raised for the run: every client comes from
HAProxy's address, and the default limit would refuse all but 30 bookings an hour.
"""

import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import figure

from afspraak.cluster.shape import Cluster, running_cluster
from afspraak.cluster.tests import booking_client
from afspraak.cluster.tests.clients import CSRF_COOKIE, through_haproxy
from afspraak.cluster.tests.rolling import iso

CLIENTS = 8
BOOKINGS = 800
SETTINGS = {"AFSPRAAK_BOOKING_IP_RATE": "1000000/m/ip", "AFSPRAAK_LOG_LEVEL": "warning"}
BOOK_PATH = f"/{booking_client.ORGANIZATION_SLUG}/call/book/"
SETUP_TIMEOUT_SECONDS = 300


def _set_up_meeting_type(cluster: Cluster) -> None:
    """Create the bench's host and meeting type with the failover test's booking client."""
    # As the owner, as `afspraak setup` did; the nodes keep signing in as the app role.
    environment = cluster.environment | cluster.database.database_settings("owner")
    # The client creates the keyset unless one exists: name the one the nodes use (the
    # settings' default place in their AFSPRAAK_VAR_DIR).
    var_dir = Path(cluster.environment["AFSPRAAK_VAR_DIR"])
    environment["AFSPRAAK_MASTER_KEYSET_FILE"] = str(var_dir / "keys" / "master.json")
    subprocess.run(  # noqa: S603 (this interpreter, the client module)
        [sys.executable, "-m", booking_client.__name__, "setup"],
        env=environment,
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=SETUP_TIMEOUT_SECONDS,
    )


def _book_share(
    cluster: Cluster, client: int, clients: int, latencies: list[float], outcomes: Counter
) -> None:
    """Book every ``clients``-th slot from ``client`` on; note each POST's latency and answer."""
    session = through_haproxy(cluster)
    url = f"{cluster.url}{BOOK_PATH}"
    first = booking_client.FIRST_SLOT
    page = session.get(url, params={"start": iso(first)}, timeout=60)
    if page.status_code != 200:
        outcomes[f"page {page.status_code}"] += 1
        return
    token = session.cookies[CSRF_COOKIE]
    for slot in range(client, BOOKINGS, clients):
        started = time.perf_counter()
        answer = session.post(
            url,
            data={
                "csrfmiddlewaretoken": token,
                "start": iso(first + timedelta(minutes=30) * slot),
                "name": f"Client {client} booking {slot}",
                "email": f"client{client}.{slot}@bench.test",
                "timezone": "Europe/Amsterdam",
            },
            allow_redirects=False,
            timeout=60,
        )
        latencies.append(time.perf_counter() - started)
        outcomes[answer.status_code] += 1


def main() -> None:
    clients = int(sys.argv[1]) if sys.argv[1:] else CLIENTS
    with (
        tempfile.TemporaryDirectory(prefix="afspraak-bench-cluster-") as name,
        running_cluster(Path(name), settings=SETTINGS) as cluster,
    ):
        print(f"cluster ready after {cluster.startup_seconds:.1f} s")
        _set_up_meeting_type(cluster)
        # One list and counter per client: no two threads write the same.
        latencies: list[list[float]] = [[] for _ in range(clients)]
        counts: list[Counter] = [Counter() for _ in range(clients)]
        threads = [
            threading.Thread(
                target=_book_share,
                args=(cluster, n, clients, latencies[n], counts[n]),
                daemon=True,
            )
            for n in range(clients)
        ]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        failure = cluster.failure()
    outcomes: Counter = sum(counts, Counter())
    every = [latency for share in latencies for latency in share]
    booked = outcomes[302]
    p95 = statistics.quantiles(every, n=20)[-1] * 1000 if len(every) > 1 else 0.0
    print(f"{clients} HTTPS clients through HAProxy and two app nodes, {BOOKINGS} distinct slots:")
    print(
        f"  {booked} booked in {seconds:.2f} s: {booked / seconds:.0f} bookings/s, "
        f"p95 latency {p95:.0f} ms (answers {dict(outcomes)})"
    )
    figure(
        "cluster",
        f"bookings, {clients} HTTPS clients (HAProxy, 2 nodes)",
        booked / seconds,
        "bookings/s",
    )
    figure("cluster", "booking POST latency, p95", p95, "ms")
    if failure:
        sys.exit(f"FAILED: {failure}")
    if booked != BOOKINGS:
        sys.exit(f"FAILED: {BOOKINGS - booked} bookings were not made: {dict(outcomes)}")


if __name__ == "__main__":
    main()

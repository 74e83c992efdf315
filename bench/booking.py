"""Benchmark booking on PostgreSQL: throughput, and double bookings under a race.

Run: ``.venv/bin/python bench/booking.py`` (as root, like ``make test``: it starts a
throw-away PostgreSQL server and a Redis server on 127.0.0.1, as the tests do, and stops
them afterwards). Django runs against them as in production (``AFSPRAAK_REDIS_URL``: the
cache and the Huey queue in Redis) with a temporary master keyset; one host is available
around the clock with a 30-minute meeting type (no buffers, no notice, no limits).

E-mails are queued for the job consumer (Huey), as in production, not sent. It prints:

- bookings per second with 20 concurrent clients (processes, each with its own
  connection, as web workers are) booking distinct slots (each a full
  ``book_meeting``: the re-check, encrypted invitee data, the audit event);
- a race: 20 clients each try to book the same 200 slots in the same order; the number
  of bookings made, the number refused as taken, and the number of double bookings
  (held bookings of the host whose times overlap), counted in SQL. It must be 0;
- the same distinct-slot load on the embedded default (SQLite and its SQLite job queue,
  ``make run``'s configuration, no Redis), run in a child process of its own (Django is
  set up once per process).
"""

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _embedded import start_django_on_sqlite
from _figures import figure
from _postgres import start_django_on_postgres

CLIENTS = 20
DISTINCT_BOOKINGS = 1000
EMBEDDED = "--embedded"
REDIS_URL = "AFSPRAAK_REDIS_URL"
# The embedded default serves with AFSPRAAK_WEB_WORKERS (2) processes of AFSPRAAK_WEB_THREADS
# threads; 20 SQLite writers would queue past its 20-s lock timeout on a loaded machine.
EMBEDDED_CLIENTS = 4
RACE_SLOTS = 200
FIRST_SLOT = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
NOW = datetime(2030, 1, 1, tzinfo=UTC)
RACE_START = FIRST_SLOT + timedelta(minutes=30) * (DISTINCT_BOOKINGS + 10)

DOUBLE_BOOKINGS_SQL = """
    SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
      ON a.host_id = b.host_id AND a.id < b.id
     AND a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
     AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end
"""


def _meeting_type():
    from afspraak.accounts.models import User
    from afspraak.audit.context import AuditContext
    from afspraak.scheduling.models import MeetingType, Schedule
    from afspraak.tenancy.context import organization_context
    from afspraak.tenancy.organizations import create_organization

    host = User.objects.create_user("host@bench.test", "not used by the benchmark")
    organization = create_organization(AuditContext.system(host), name="Bench", slug="bench")
    with organization_context(organization):
        schedule = Schedule.objects.create(
            organization=organization,
            host=host,
            name="Always",
            time_zone="Europe/Amsterdam",
            weekly_hours={str(day): [["00:00", "24:00"]] for day in range(7)},
        )
        return MeetingType.objects.create(
            organization=organization,
            host=host,
            schedule=schedule,
            name="Call",
            slug="call",
            duration_minutes=30,
            minimum_notice_minutes=0,
            horizon_days=730,
            reminder_offsets_minutes=[],
        )


def _run_clients(work, meeting_type, clients=CLIENTS) -> tuple[float, Counter[str]]:
    """Run ``work(meeting_type, client, clients)`` in ``clients`` processes; return time, outcomes.

    Processes, not threads: each client is its own interpreter with its own database
    connection, as web workers are, so the figure is not one interpreter's lock.
    """
    from django.db import connections

    # Children must open their own connections, never share the parent's socket.
    connections.close_all()
    context = multiprocessing.get_context("fork")
    results = context.Queue()

    def client(number: int) -> None:
        try:
            results.put(dict(work(meeting_type, number, clients)))
        finally:
            connections.close_all()

    processes = [context.Process(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    outcomes: Counter[str] = Counter()
    for _ in processes:
        outcomes.update(results.get())
    for process in processes:
        process.join()
    return time.perf_counter() - started, outcomes


def _book_distinct(meeting_type, client: int, clients: int) -> Counter[str]:
    """Book this client's share of the distinct slots (every ``clients``-th one)."""
    step = timedelta(minutes=30)
    return Counter(
        _book(meeting_type, FIRST_SLOT + n * step, client)
        for n in range(client, DISTINCT_BOOKINGS, clients)
    )


def _book_same(meeting_type, client: int, clients: int) -> Counter[str]:
    """Try to book every racing slot, in the same order as every other client."""
    step = timedelta(minutes=30)
    return Counter(_book(meeting_type, RACE_START + n * step, client) for n in range(RACE_SLOTS))


def _book(meeting_type, start: datetime, n: int) -> str:
    from afspraak.audit.context import AuditContext
    from afspraak.bookings.booking import InviteeDetails, SlotTakenError, book_meeting
    from afspraak.tenancy.access import access_for_visitor

    details = InviteeDetails(name=f"Invitee {n}", email=f"i{n}@bench.test", timezone="UTC")
    access = access_for_visitor(meeting_type.organization, AuditContext.system())
    try:
        book_meeting(access, meeting_type, start=start, details=details, now=NOW)
    except SlotTakenError:
        return "taken"
    return "booked"


def embedded() -> None:
    """Book the distinct slots on SQLite, as the embedded default does."""
    with tempfile.TemporaryDirectory(prefix="afspraak-bench-") as name:
        start_django_on_sqlite(Path(name))
        seconds, distinct = _run_clients(_book_distinct, _meeting_type(), EMBEDDED_CLIENTS)
        print(
            f"{EMBEDDED_CLIENTS} clients, {DISTINCT_BOOKINGS} distinct slots on SQLite (embedded):"
        )
        print(
            f"  {distinct['booked']} booked in {seconds:.2f} s: "
            f"{distinct['booked'] / seconds:.0f} bookings/s"
        )
        figure(
            "booking",
            f"bookings, {EMBEDDED_CLIENTS} clients (SQLite, embedded)",
            distinct["booked"] / seconds,
            "bookings/s",
        )
        if distinct["booked"] != DISTINCT_BOOKINGS:
            sys.exit("FAILED: distinct slots were refused on SQLite")


def main() -> None:
    from afspraak.cluster.redis import running_redis

    with (
        tempfile.TemporaryDirectory(prefix="afspraak-bench-") as name,
        running_redis(Path(name) / "redis") as redis,
    ):
        # Before Django is set up: the settings choose RedisHuey and the Redis cache by it.
        os.environ[REDIS_URL] = redis.url
        start_django_on_postgres(Path(name), "afspraak_bench")
        from django.db import connection
        from huey import RedisHuey
        from huey.contrib.djhuey import HUEY

        from afspraak.tenancy.context import organization_context

        if not isinstance(HUEY, RedisHuey):
            sys.exit(f"FAILED: the job queue is {type(HUEY).__name__}, not Redis")
        meeting_type = _meeting_type()

        seconds, distinct = _run_clients(_book_distinct, meeting_type)
        print(f"{CLIENTS} clients, {DISTINCT_BOOKINGS} distinct slots on PostgreSQL (Redis queue):")
        print(
            f"  {distinct['booked']} booked in {seconds:.2f} s: "
            f"{distinct['booked'] / seconds:.0f} bookings/s"
        )
        figure(
            "booking",
            f"bookings, {CLIENTS} clients (PostgreSQL, Redis queue)",
            distinct["booked"] / seconds,
            "bookings/s",
            ">= 150",
        )

        seconds, raced = _run_clients(_book_same, meeting_type)
        # Raw SQL, inside the organization's context: row-level security shows its rows.
        with organization_context(meeting_type.organization), connection.cursor() as cursor:
            cursor.execute(DOUBLE_BOOKINGS_SQL)
            doubles = cursor.fetchone()[0]
        print(f"{CLIENTS} clients racing for the same {RACE_SLOTS} slots ({seconds:.2f} s):")
        print(
            f"  booked {raced['booked']}, refused as taken {raced['taken']}, "
            f"double bookings {doubles}"
        )
        figure("booking", f"double bookings, {CLIENTS} clients racing", doubles, "bookings", "0")
        if doubles or raced["booked"] != RACE_SLOTS:
            sys.exit("FAILED: the race produced double or missing bookings")
    # The child inherits the environment, the figures file named there included, but not
    # Redis: the embedded default queues its jobs in SQLite.
    embedded_environ = {name: value for name, value in os.environ.items() if name != REDIS_URL}
    subprocess.run([sys.executable, __file__, EMBEDDED], check=True, env=embedded_environ)  # noqa: S603 (this script)


if __name__ == "__main__":
    if sys.argv[1:] == [EMBEDDED]:
        embedded()
    else:
        main()

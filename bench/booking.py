"""Benchmark booking on PostgreSQL: throughput, and double bookings under a race.

Run: ``.venv/bin/python bench/booking.py`` (as root, like ``make test``: it starts a
throw-away PostgreSQL server on 127.0.0.1, as the tests do, and removes it afterwards).
Django runs against it with a temporary master keyset; one host is available around
the clock with a 30-minute meeting type (no buffers, no notice, no limits).

E-mails are queued for the job consumer (Huey), as in production, not sent. It prints:

- bookings per second with 20 concurrent clients booking distinct slots (each a full
  ``book_meeting``: the re-check, encrypted invitee data, the audit event);
- a race: 20 clients each try to book the same 200 slots in the same order; the number
  of bookings made, the number refused as taken, and the number of double bookings
  (held bookings of the host whose times overlap), counted in SQL. It must be 0.
"""

import logging
import os
import queue
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CLIENTS = 20
DISTINCT_BOOKINGS = 1000
RACE_SLOTS = 200
FIRST_SLOT = datetime(2030, 1, 7, 0, 0, tzinfo=UTC)
NOW = datetime(2030, 1, 1, tzinfo=UTC)

DOUBLE_BOOKINGS_SQL = """
    SELECT count(*) FROM bookings_booking a JOIN bookings_booking b
      ON a.host_id = b.host_id AND a.id < b.id
     AND a.status IN ('pending', 'confirmed') AND b.status IN ('pending', 'confirmed')
     AND a.blocked_start < b.blocked_end AND b.blocked_start < a.blocked_end
"""


def _setup_django(directory: Path) -> None:
    from afspraak.testing.postgres import ThrowAwayServer

    server = ThrowAwayServer()
    coordinates = server.start()  # stops itself at exit (atexit)
    os.environ.update(
        coordinates.environ()
        | {
            "DJANGO_SETTINGS_MODULE": "afspraak.settings",
            "AFSPRAAK_VAR_DIR": str(directory),
            "AFSPRAAK_DB_NAME": "afspraak_bench",
            "AFSPRAAK_MASTER_KEYSET_FILE": str(directory / "keys" / "master.json"),
            "AFSPRAAK_MASTER_KEY_URI": "",
            "AFSPRAAK_LOG_LEVEL": "warning",
        }
    )
    import psycopg

    with psycopg.connect(**coordinates.connection_kwargs("owner", "postgres")) as admin:
        admin.autocommit = True
        admin.execute("CREATE DATABASE afspraak_bench")
    import django

    django.setup()
    from django.core.management import call_command

    from afspraak.crypto.keyring import create_master_keyset

    create_master_keyset(directory / "keys" / "master.json")
    call_command("migrate", verbosity=0)
    # Thousands of audit events would bury the figures (they still go to the table).
    logging.getLogger("afspraak.audit.events").setLevel(logging.WARNING)


def _meeting_type():
    from afspraak.accounts.models import User
    from afspraak.scheduling.models import MeetingType, Schedule
    from afspraak.tenancy.context import organization_context
    from afspraak.tenancy.organizations import create_organization

    host = User.objects.create_user("host@bench.test", "not used by the benchmark")
    organization = create_organization(actor=host, name="Bench", slug="bench")
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


def _run_clients(work) -> float:
    """Run ``work(client_number)`` in CLIENTS threads; return the seconds they took."""
    from django.db import connections

    def client(number: int) -> None:
        try:
            work(number)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def _book(meeting_type, start: datetime, n: int) -> str:
    from afspraak.bookings.booking import InviteeDetails, SlotTakenError, book_meeting
    from afspraak.tenancy.context import organization_context

    details = InviteeDetails(name=f"Invitee {n}", email=f"i{n}@bench.test", timezone="UTC")
    try:
        with organization_context(meeting_type.organization):
            book_meeting(meeting_type, start=start, details=details, now=NOW)
    except SlotTakenError:
        return "taken"
    return "booked"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="afspraak-bench-") as name:
        _setup_django(Path(name))
        from django.db import connection

        from afspraak.tenancy.context import organization_context

        meeting_type = _meeting_type()
        step = timedelta(minutes=30)

        slots: queue.Queue[datetime] = queue.Queue()
        for n in range(DISTINCT_BOOKINGS):
            slots.put(FIRST_SLOT + n * step)
        distinct: Counter[str] = Counter()
        lock = threading.Lock()

        def book_distinct(client: int) -> None:
            while True:
                try:
                    start = slots.get_nowait()
                except queue.Empty:
                    return
                outcome = _book(meeting_type, start, client)
                with lock:
                    distinct[outcome] += 1

        seconds = _run_clients(book_distinct)
        print(f"{CLIENTS} clients, {DISTINCT_BOOKINGS} distinct slots on PostgreSQL:")
        print(
            f"  {distinct['booked']} booked in {seconds:.2f} s: "
            f"{distinct['booked'] / seconds:.0f} bookings/s"
        )

        race_start = FIRST_SLOT + (DISTINCT_BOOKINGS + 10) * step
        raced: Counter[str] = Counter()

        def book_same(client: int) -> None:
            for n in range(RACE_SLOTS):
                outcome = _book(meeting_type, race_start + n * step, client)
                with lock:
                    raced[outcome] += 1

        seconds = _run_clients(book_same)
        # Raw SQL, inside the organization's context: row-level security shows its rows.
        with organization_context(meeting_type.organization), connection.cursor() as cursor:
            cursor.execute(DOUBLE_BOOKINGS_SQL)
            doubles = cursor.fetchone()[0]
        print(f"{CLIENTS} clients racing for the same {RACE_SLOTS} slots ({seconds:.2f} s):")
        print(
            f"  booked {raced['booked']}, refused as taken {raced['taken']}, "
            f"double bookings {doubles}"
        )
        if doubles or raced["booked"] != RACE_SLOTS:
            sys.exit("FAILED: the race produced double or missing bookings")


if __name__ == "__main__":
    main()

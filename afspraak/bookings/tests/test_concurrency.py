"""Fifty invitees race for one slot: exactly one booking, everyone else told it was taken.

Each thread books through its own database connection, as concurrent requests do.
On PostgreSQL that is the test database itself (the exclusion constraint decides);
the in-memory SQLite test database cannot be shared between connections, so on
SQLite the test copies it to a file first and every thread opens that file (the
``BEGIN IMMEDIATE`` write lock decides).
"""

import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper

from afspraak.bookings.booking import BookingError, SlotTakenError
from afspraak.bookings.models import Booking, Status
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import MeetingTypeFactory, book

THREADS = 50
CLIENTS = 12
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Amsterdam


class SharedDatabase:
    """The database the racing threads use; ``publish()`` once the test's data is in."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.settings_dict: dict | None = None

    def publish(self) -> None:
        if connection.vendor != "sqlite":
            return
        copy = self.directory / "race.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(copy) as target:
            connection.connection.backup(target)
        self.settings_dict = connection.settings_dict | {"NAME": str(copy)}

    def __call__(self) -> None:
        """Point the calling thread's connection at the shared database."""
        if self.settings_dict is not None:
            # Connections are per thread: this replaces the calling thread's only.
            connections["default"] = SQLiteDatabaseWrapper(self.settings_dict, alias="default")


@pytest.fixture
def database_for_threads(tmp_path) -> SharedDatabase:
    return SharedDatabase(tmp_path)


@contextmanager
def own_connection(use_shared_database: Callable[[], None]) -> Iterator[None]:
    use_shared_database()
    try:
        yield
    finally:
        connections["default"].close()


def race(meeting_type, start: datetime, use_shared_database: Callable[[], None]) -> Counter[str]:
    """Let THREADS invitees book ``start`` at once; return how each attempt ended."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)

    def attempt(n: int) -> None:
        with own_connection(use_shared_database):
            barrier.wait()
            try:
                book(meeting_type, start, now=NOW, n=n)
                outcome = "booked"
            except SlotTakenError:
                outcome = "taken"
            except BookingError as error:
                outcome = f"refused: {error.message}"
            except Exception as error:  # any other failure is what the test counts
                outcome = f"error: {type(error).__name__}: {error}"
            with lock:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def held_bookings(meeting_type, use_shared_database: Callable[[], None]) -> list[Booking]:
    found: list[Booking] = []

    def read() -> None:
        with own_connection(use_shared_database), organization_context(meeting_type.organization):
            found.extend(Booking.objects.filter(status__in=[Status.PENDING, Status.CONFIRMED]))

    # Read through a connection to the database the threads wrote (a thread of its own).
    reader = threading.Thread(target=read)
    reader.start()
    reader.join()
    return found


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_bookings_of_one_slot_give_exactly_one_booking(database_for_threads):
    meeting_type = MeetingTypeFactory.create()
    database_for_threads.publish()
    outcomes = race(meeting_type, MONDAY_0900, database_for_threads)
    assert outcomes == Counter({"booked": 1, "taken": THREADS - 1})
    [booking] = held_bookings(meeting_type, database_for_threads)
    assert booking.start == MONDAY_0900


@pytest.mark.django_db(transaction=True)
def test_racing_for_overlapping_slots_of_two_meeting_types_of_one_host_books_one(
    database_for_threads,
):
    thirty = MeetingTypeFactory.create(slot_interval_minutes=15)
    hour = MeetingTypeFactory.create(
        schedule=thirty.schedule, duration_minutes=60, slot_interval_minutes=15
    )
    database_for_threads.publish()
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(2)

    def attempt(meeting_type, start: datetime, n: int) -> None:
        with own_connection(database_for_threads):
            barrier.wait()
            try:
                book(meeting_type, start, now=NOW, n=n)
                outcome = "booked"
            except SlotTakenError:
                outcome = "taken"
            with lock:
                outcomes[outcome] += 1

    # 09:15-09:45 and 09:00-10:00: different types and starts, one host, overlapping.
    pair = [(thirty, MONDAY_0900 + timedelta(minutes=15), 0), (hour, MONDAY_0900, 1)]
    threads = [threading.Thread(target=attempt, args=args) for args in pair]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == Counter({"booked": 1, "taken": 1})
    assert len(held_bookings(thirty, database_for_threads)) == 1


@pytest.mark.django_db(transaction=True)
def test_clients_racing_through_the_same_slots_in_turn_book_each_once(database_for_threads):
    # The losers of one slot meet again at the next; every attempt ends booked or taken.
    # (A deadlock between two writers of one time, which PostgreSQL may report, is rare
    # here; test_booking.py forces one to check the retry.)
    meeting_type = MeetingTypeFactory.create()
    database_for_threads.publish()
    slots = [MONDAY_0900 + timedelta(minutes=30 * n) for n in range(4)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def client(n: int) -> None:
        with own_connection(database_for_threads):
            for start in slots:
                try:
                    book(meeting_type, start, now=NOW, n=n)
                    outcome = "booked"
                except SlotTakenError:
                    outcome = "taken"
                except Exception as error:  # any other failure is what the test counts
                    outcome = f"error: {type(error).__name__}: {error}"
                with lock:
                    outcomes[outcome] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == Counter({"booked": len(slots), "taken": (CLIENTS - 1) * len(slots)})
    assert sorted(b.start for b in held_bookings(meeting_type, database_for_threads)) == slots

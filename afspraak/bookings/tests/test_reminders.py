"""Reminders: armed at the meeting type's offsets, sent by the periodic job exactly once each.

Sending goes through a real SMTP server. "Exactly once" is tested the ways it can break:
the job running twice, a second consumer (a fresh Huey instance) after a restart, a
worker dying with a claim, and a booking cancelled or moved in between.
"""

import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, connections
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabaseWrapper
from huey import MemoryHuey

from afspraak.bookings import notifications, tasks
from afspraak.bookings.booking import (
    approve_booking,
    cancel_booking,
    decline_booking,
    reschedule_booking,
)
from afspraak.bookings.models import Booking, Reminder, ReminderStatus, Status
from afspraak.tenancy.context import organization_context
from afspraak.testing.access import host_of, invitee_access
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Tuesday 10 March 2026, 15:00 in Amsterdam = 14:00 UTC = 10:00 in New York.
MEETING = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
DAY_BEFORE = MEETING - timedelta(days=1)
HOUR_BEFORE = MEETING - timedelta(hours=1)
# Thursday 12 March 2026, 09:00 in Amsterdam.
MOVED = datetime(2026, 3, 12, 8, 0, tzinfo=UTC)
INVITEE_EMAIL = "ada@example.test"


@pytest.fixture
def clock_start():
    return NOW


@pytest.fixture
def meeting_type():
    return MeetingTypeFactory.create(name="Intake call", reminder_offsets_minutes=[1440, 60])


@pytest.fixture
def booking(clock, meeting_type):
    return book(meeting_type, MEETING, name="Ada Lovelace", email=INVITEE_EMAIL)


def _reminders(booking):
    with organization_context(booking.organization):
        return {r.offset_minutes: r for r in Reminder.objects.filter(booking=booking)}


def _run():
    """Run the periodic job's function once, as the consumer does each minute."""
    return tasks.send_due_reminders.call_local()


def test_booking_arms_a_reminder_at_each_offset_before_the_meeting(booking):
    reminders = _reminders(booking)
    assert {offset: r.due_at for offset, r in reminders.items()} == {
        1440: DAY_BEFORE,
        60: HOUR_BEFORE,
    }
    assert {r.status for r in reminders.values()} == {ReminderStatus.SCHEDULED}


def test_a_reminder_whose_time_has_passed_is_not_armed(clock, meeting_type):
    # Booked 90 minutes ahead: the day-before reminder is already late.
    soon = book(meeting_type, NOW + timedelta(minutes=90))
    assert {offset: r.due_at for offset, r in _reminders(soon).items()} == {
        60: NOW + timedelta(minutes=30)
    }


def test_each_reminder_is_sent_once_at_its_time_though_the_job_runs_again(
    clock, booking, smtp_server
):
    clock.move_to(DAY_BEFORE - timedelta(minutes=1))
    assert _run() == 0
    assert smtp_server.messages == []

    clock.move_to(DAY_BEFORE)
    assert _run() == 1
    assert _run() == 0
    mail = smtp_server.to(INVITEE_EMAIL)[0]
    assert len(smtp_server.messages) == 1
    assert mail.subject.startswith("[Afspraak] Reminder: Intake call with")
    assert "Tuesday 10 March 2026, 10:00-10:30 (America/New_York)" in mail.text()
    assert _reminders(booking)[1440].status == ReminderStatus.SENT
    assert _reminders(booking)[1440].sent_at == DAY_BEFORE

    clock.move_to(HOUR_BEFORE + timedelta(minutes=1))
    assert _run() == 1
    assert _run() == 0
    assert len(smtp_server.to(INVITEE_EMAIL)) == 2
    assert {r.status for r in _reminders(booking).values()} == {ReminderStatus.SENT}


def test_a_restarted_consumer_does_not_send_a_reminder_again(clock, booking, smtp_server):
    clock.move_to(DAY_BEFORE)
    tasks.send_due_reminders()  # through the project's Huey, as the consumer runs it
    assert len(smtp_server.messages) == 1

    # A new consumer process: a fresh Huey instance with nothing in memory from the first.
    restarted = MemoryHuey("afspraak-restarted", immediate=True)
    job = restarted.task()(tasks.send_due_reminders.call_local)
    assert job().get() == 0
    clock.move_to(DAY_BEFORE + timedelta(minutes=30))
    assert job().get() == 0
    assert len(smtp_server.messages) == 1


def test_a_reminder_claimed_by_another_worker_is_left_to_it(clock, booking):
    clock.move_to(DAY_BEFORE)
    reminder = _reminders(booking)[1440]
    with organization_context(booking.organization):
        assert notifications.claim_reminder(reminder.pk, now=DAY_BEFORE) is True
        assert notifications.claim_reminder(reminder.pk, now=DAY_BEFORE) is False


def test_a_crashed_workers_claim_is_retried_after_the_timeout(clock, booking, smtp_server):
    clock.move_to(DAY_BEFORE)
    reminder = _reminders(booking)[1440]
    # A worker claimed it and died before sending.
    with organization_context(booking.organization):
        assert notifications.claim_reminder(reminder.pk, now=DAY_BEFORE)

    clock.move_to(DAY_BEFORE + notifications.CLAIM_TIMEOUT - timedelta(minutes=1))
    assert _run() == 0
    assert smtp_server.messages == []

    clock.move_to(DAY_BEFORE + notifications.CLAIM_TIMEOUT + timedelta(minutes=1))
    assert _run() == 1
    assert _run() == 0
    assert len(smtp_server.messages) == 1
    taken_over = _reminders(booking)[1440]
    assert taken_over.status == ReminderStatus.SENT
    assert taken_over.attempts == 2


def _database_for_threads(tmp_path):
    """Return a function pointing a thread's connection at a database the threads share.

    On PostgreSQL that is the test database. The in-memory SQLite test database cannot
    be shared between connections, so it is copied to a file that each thread opens.
    """
    if connection.vendor != "sqlite":
        return lambda: None
    copy = tmp_path / "consumers.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        connection.connection.backup(target)
    settings_dict = connection.settings_dict | {"NAME": str(copy)}

    def use() -> None:
        # Connections are per thread: this replaces the calling thread's only.
        connections["default"] = SQLiteDatabaseWrapper(settings_dict, alias="default")

    return use


@pytest.mark.django_db(transaction=True)
def test_two_consumers_running_at_once_send_each_reminder_once(
    clock, booking, smtp_server, tmp_path, monkeypatch
):
    clock.move_to(HOUR_BEFORE)
    use_shared_database = _database_for_threads(tmp_path)
    # Both consumers found the same due reminders; make them claim each at the same moment.
    barrier = threading.Barrier(2)
    unsynchronised = notifications.send_reminder

    def in_step(*args, **kwargs):
        barrier.wait(timeout=10)
        return unsynchronised(*args, **kwargs)

    monkeypatch.setattr(notifications, "send_reminder", in_step)
    results: list[int | BaseException] = []

    def consumer() -> None:
        use_shared_database()
        try:
            results.append(_run())
        except BaseException as error:  # reported by the assertion below
            results.append(error)
        finally:
            connections["default"].close()

    threads = [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    counts = [result for result in results if isinstance(result, int)]
    assert len(counts) == 2, results
    assert sum(counts) == 2
    delivered = smtp_server.to(INVITEE_EMAIL)
    assert len(smtp_server.messages) == len(delivered) == 2
    assert len({mail.message[notifications.REMINDER_HEADER] for mail in delivered}) == 2


class WorkerKilled(BaseException):
    """The process dies (SIGKILL, power loss): no exception handler runs."""


def test_a_crash_between_send_and_mark_sends_again_only_after_the_timeout(
    clock, booking, smtp_server, monkeypatch
):
    # The chosen trade-off, pinned: at-least-once across a crash, never a resend sooner.
    clock.move_to(DAY_BEFORE)

    def die(*args, **kwargs):
        raise WorkerKilled

    with monkeypatch.context() as patch:
        patch.setattr(notifications, "mark_reminder_sent", die)
        with pytest.raises(WorkerKilled):
            _run()
    assert len(smtp_server.messages) == 1
    assert _reminders(booking)[1440].status == ReminderStatus.SENDING

    clock.move_to(DAY_BEFORE + timedelta(minutes=5))
    assert _run() == 0
    assert len(smtp_server.messages) == 1

    clock.move_to(DAY_BEFORE + notifications.CLAIM_TIMEOUT + timedelta(minutes=1))
    assert _run() == 1
    assert len(smtp_server.messages) == 2
    assert _reminders(booking)[1440].status == ReminderStatus.SENT


def test_a_cancelled_bookings_reminders_are_dropped_and_never_sent(clock, booking, smtp_server):
    with organization_context(booking.organization):
        cancel_booking(invitee_access(booking), booking)
    assert _reminders(booking) == {}
    clock.move_to(HOUR_BEFORE)
    assert _run() == 0
    assert smtp_server.messages == []


def test_a_reminder_left_behind_by_a_cancellation_is_not_sent(clock, booking, smtp_server):
    # Cancelled by a path that did not drop its reminders (or while the job was running).
    with organization_context(booking.organization):
        Booking.objects.filter(pk=booking.pk).update(status=Status.CANCELLED)
    clock.move_to(DAY_BEFORE)
    assert _run() == 0
    assert smtp_server.messages == []
    assert 1440 not in _reminders(booking)


def test_a_reschedule_moves_unsent_reminders_and_rearms_sent_ones(clock, booking, smtp_server):
    clock.move_to(DAY_BEFORE)
    assert _run() == 1
    with organization_context(booking.organization):
        reschedule_booking(invitee_access(booking), booking, start=MOVED)
    reminders = _reminders(booking)
    assert {offset: (r.due_at, r.status) for offset, r in reminders.items()} == {
        1440: (MOVED - timedelta(days=1), ReminderStatus.SCHEDULED),
        60: (MOVED - timedelta(hours=1), ReminderStatus.SCHEDULED),
    }

    clock.move_to(HOUR_BEFORE)
    assert _run() == 0
    clock.move_to(MOVED - timedelta(days=1))
    assert _run() == 1
    assert len(smtp_server.messages) == 2
    assert "Thursday 12 March 2026, 04:00-04:30 (America/New_York)" in (
        smtp_server.messages[1].text()
    )


def test_pending_bookings_are_reminded_and_declining_drops_the_reminders(clock, smtp_server):
    approval_type = MeetingTypeFactory.create(requires_approval=True)
    pending = book(approval_type, MEETING, email=INVITEE_EMAIL)
    assert set(_reminders(pending)) == {1440, 60}
    with organization_context(approval_type.organization):
        approve_booking(host_of(pending), pending)
    assert {r.status for r in _reminders(pending).values()} == {ReminderStatus.SCHEDULED}

    other = book(approval_type, MOVED, email="grace@example.test")
    with organization_context(approval_type.organization):
        decline_booking(host_of(other), other)
    assert _reminders(other) == {}


def test_a_reminder_for_a_meeting_that_has_begun_is_given_up(clock, booking, smtp_server):
    clock.move_to(MEETING + timedelta(minutes=5))
    assert _run() == 0
    assert smtp_server.messages == []
    assert {r.status for r in _reminders(booking).values()} == {ReminderStatus.FAILED}


def test_reminders_of_every_organization_are_sent(clock, booking, smtp_server):
    elsewhere = MeetingTypeFactory.create()
    book(elsewhere, MEETING, email="grace@example.test")
    assert booking.organization != elsewhere.organization
    clock.move_to(DAY_BEFORE)
    assert _run() == 2
    assert len(smtp_server.to(INVITEE_EMAIL)) == 1
    assert len(smtp_server.to("grace@example.test")) == 1


def test_a_failing_mail_server_is_retried_then_given_up_without_logging_addresses(
    clock, booking, smtp_server, caplog
):
    caplog.set_level(logging.INFO, logger="afspraak")
    smtp_server.stop()
    for minute in range(notifications.MAX_REMINDER_ATTEMPTS + 2):
        clock.move_to(DAY_BEFORE + timedelta(minutes=minute))
        assert _run() == 0
    reminder = _reminders(booking)[1440]
    assert reminder.status == ReminderStatus.FAILED
    assert reminder.attempts == notifications.MAX_REMINDER_ATTEMPTS
    logged = "\n".join(
        logging.Formatter().format(record)
        for record in caplog.records
        if record.name.startswith("afspraak")
    )
    assert f"reminder {reminder.public_id} not sent" in logged
    assert INVITEE_EMAIL not in logged
    assert "Ada Lovelace" not in logged
    assert booking.host.email not in logged

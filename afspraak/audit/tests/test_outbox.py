"""The transactional outbox: nothing leaves before commit, everything committed leaves once."""

import io
import json
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from afspraak.audit import outbox
from afspraak.audit.chain import SIEM_TOPIC
from afspraak.audit.logformat import ECSFormatter
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import (
    CLAIM_LEASE,
    MAX_ATTEMPTS,
    RETENTION,
    UnknownTopicError,
    deliver_due,
    enqueue,
    handles,
    purge_old,
)
from afspraak.audit.trail import record

pytestmark = pytest.mark.django_db

TOPIC = "tests.outbox.delivery"


@pytest.fixture
def delivered(monkeypatch):
    """Register a handler for ``TOPIC`` that notes each payload it delivers."""
    seen: list[dict] = []
    monkeypatch.setattr(outbox, "_handlers", dict(outbox._handlers))
    handles(TOPIC)(lambda message: seen.append(message.payload))
    return seen


@pytest.fixture
def failing(monkeypatch):
    """Register a handler for ``TOPIC`` whose downstream system is down."""
    monkeypatch.setattr(outbox, "_handlers", dict(outbox._handlers))

    def refuse(message):
        raise ConnectionRefusedError("mail server down")

    handles(TOPIC)(refuse)


def _siem_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if '"event.action"' in line]


@pytest.fixture
def siem_stream():
    """Point the configured SIEM handler (settings.LOGGING's "audit") at a buffer we can read."""
    [handler] = [
        handler
        for handler in logging.getLogger("afspraak.audit.events").handlers
        if isinstance(handler, logging.StreamHandler)
        and isinstance(handler.formatter, ECSFormatter)
    ]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def test_a_committed_event_reaches_the_real_log_stream_once_and_a_rolled_back_one_never(
    siem_stream, django_capture_on_commit_callbacks
):
    class Abandoned(Exception):  # noqa: N818 - not an error: the test abandons on purpose
        pass

    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                record("accounts.mfa.removed", data={"marker": "rolled-back"})
                raise Abandoned
        except Abandoned:
            pass
    with django_capture_on_commit_callbacks(execute=True):
        committed = record("accounts.mfa.added", data={"marker": "committed"})
    deliver_due()

    # Read from the handler and formatter the settings configure, not from a logging hook.
    lines = _siem_lines(siem_stream.getvalue())
    assert [(line["event.action"], line["afspraak.data"]["marker"]) for line in lines] == [
        ("accounts.mfa.added", "committed")
    ]
    assert lines[0]["event.id"] == str(committed.pk)
    # The rolled-back event left no message behind (its id may be reused by the next one).
    assert [m.payload["events"] for m in OutboxMessage.objects.filter(topic=SIEM_TOPIC)] == [
        [[committed.pk, None]]
    ]


def test_the_dispatcher_starts_when_the_transaction_commits(
    delivered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as at_commit:
        enqueue(TOPIC, {"n": 1})
    assert delivered == []

    for callback in at_commit:
        callback()
    assert delivered == [{"n": 1}]


def test_a_message_is_delivered_once_however_often_the_dispatcher_runs(delivered):
    message = enqueue(TOPIC, {"n": 1})

    assert deliver_due() == 1
    assert deliver_due() == 0

    assert delivered == [{"n": 1}]
    message.refresh_from_db()
    assert message.delivered_at is not None
    assert message.attempts == 1


def test_messages_go_out_oldest_first_across_batches(delivered):
    for n in range(5):
        enqueue(TOPIC, {"n": n})

    assert deliver_due(batch_size=2) == 5
    assert [payload["n"] for payload in delivered] == [0, 1, 2, 3, 4]


def test_an_unknown_topic_is_refused_when_enqueued():
    with pytest.raises(UnknownTopicError):
        enqueue("tests.outbox.nobody_listens", {})
    assert not OutboxMessage.objects.exists()


def test_a_failed_delivery_is_retried_later_with_a_growing_delay(failing, clock):
    message = enqueue(TOPIC, {"n": 1})

    assert deliver_due() == 0
    message.refresh_from_db()
    assert (message.attempts, message.delivered_at, message.failed_at) == (1, None, None)
    assert message.last_error == "ConnectionRefusedError: mail server down"
    first_delay = message.available_at - timezone.now()
    assert deliver_due() == 0  # not due yet
    message.refresh_from_db()
    assert message.attempts == 1

    clock.shift(first_delay)
    deliver_due()
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.available_at - timezone.now() > first_delay


def test_a_message_that_keeps_failing_is_given_up_and_reported(failing, clock, caplog):
    message = enqueue(TOPIC, {"n": 1})

    for _ in range(MAX_ATTEMPTS + 2):
        deliver_due()
        clock.shift(timedelta(hours=2))

    message.refresh_from_db()
    assert message.attempts == MAX_ATTEMPTS
    assert message.failed_at is not None
    assert any("giving up" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_a_message_claimed_by_another_dispatcher_is_left_to_it(delivered):
    message = enqueue(TOPIC, {"n": 1})
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now())

    assert deliver_due() == 0
    assert delivered == []


def test_a_claim_older_than_the_lease_is_taken_over(delivered):
    message = enqueue(TOPIC, {"n": 1})
    abandoned = timezone.now() - CLAIM_LEASE - timedelta(seconds=1)
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=abandoned)

    assert deliver_due() == 1
    assert delivered == [{"n": 1}]


def test_a_topic_has_one_handler(delivered):
    with pytest.raises(ValueError, match="already has a handler"):
        handles(TOPIC)(lambda message: None)


def test_the_operator_sees_failed_messages_and_retries_them(failing, clock, monkeypatch):
    message = enqueue(TOPIC, {"n": 1})
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=MAX_ATTEMPTS, failed_at=timezone.now(), last_error="OSError: no route"
    )

    shown = io.StringIO()
    call_command("outbox", "status", stdout=shown)
    assert (
        f"failed #{message.pk} {TOPIC} after {MAX_ATTEMPTS} attempts: OSError" in shown.getvalue()
    )

    seen = []
    monkeypatch.setitem(outbox._handlers, TOPIC, lambda message: seen.append(message.payload))
    retried = io.StringIO()
    call_command("outbox", "retry", stdout=retried)
    assert "1 failed message(s) made due again." in retried.getvalue()
    assert seen == [{"n": 1}]
    assert "Nothing waits in the outbox." in retried.getvalue()


def test_a_long_run_does_not_lose_its_claims_to_a_second_dispatcher(monkeypatch, clock):
    """Each send takes 3 minutes; while the second is sent, another dispatcher runs."""
    sent: list[int] = []
    monkeypatch.setattr(outbox, "_handlers", dict(outbox._handlers))

    def slow_send(message):
        clock.shift(timedelta(minutes=3))
        sent.append(message.payload["n"])
        if message.payload["n"] == 1:
            deliver_due()

    handles(TOPIC)(slow_send)
    for n in range(3):
        enqueue(TOPIC, {"n": n})

    deliver_due()

    assert sorted(sent) == [0, 1, 2]


def test_a_sealed_secret_is_dropped_from_the_row_once_delivered(delivered):
    message = enqueue(TOPIC, {"invitation": "inv_1", "sealed_token": "c2VhbGVk"})

    deliver_due()

    assert delivered == [{"invitation": "inv_1", "sealed_token": "c2VhbGVk"}]
    message.refresh_from_db()
    assert message.payload == {"invitation": "inv_1"}


def test_messages_are_deleted_after_their_retention(delivered, clock):
    old = enqueue(TOPIC, {"n": 0})
    clock.shift(RETENTION - timedelta(hours=1))
    young = enqueue(TOPIC, {"n": 1})
    clock.shift(timedelta(hours=2))

    assert purge_old() == 1
    assert list(OutboxMessage.objects.values_list("pk", flat=True)) == [young.pk]
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()


def test_a_busy_queue_at_commit_leaves_the_message_to_the_periodic_run(
    delivered, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def busy():
        raise OSError("database is locked")

    monkeypatch.setattr(outbox, "deliver_outbox", busy)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(TOPIC, {"n": 1})

    assert delivered == []
    assert "the periodic run delivers" in caplog.text
    assert deliver_due() == 1


def test_a_batch_topic_gets_its_due_messages_at_once_oldest_first(monkeypatch):
    batches: list[list[int]] = []
    monkeypatch.setattr(outbox, "_handlers", dict(outbox._handlers))
    monkeypatch.setattr(outbox, "_batch_topics", set(outbox._batch_topics))
    handles(TOPIC, batch=True)(lambda messages: batches.append([m.payload["n"] for m in messages]))
    for n in range(4):
        enqueue(TOPIC, {"n": n})

    assert deliver_due() == 4
    assert batches == [[0, 1, 2, 3]]
    assert deliver_due() == 0


def test_one_bad_message_in_a_batch_holds_up_no_other(monkeypatch):
    delivered: list[int] = []
    monkeypatch.setattr(outbox, "_handlers", dict(outbox._handlers))
    monkeypatch.setattr(outbox, "_batch_topics", set(outbox._batch_topics))

    def deliver(messages):
        if any(m.payload["n"] == 1 for m in messages):
            raise ConnectionRefusedError("message 1 cannot be sent")
        delivered.extend(m.payload["n"] for m in messages)

    handles(TOPIC, batch=True)(deliver)
    messages = [enqueue(TOPIC, {"n": n}) for n in range(3)]

    assert deliver_due() == 2
    assert delivered == [0, 2]
    states = []
    for message in messages:
        message.refresh_from_db()
        states.append((message.delivered_at is not None, message.attempts, message.last_error))
    assert states == [
        (True, 1, ""),
        (False, 1, "ConnectionRefusedError: message 1 cannot be sent"),
        (True, 1, ""),
    ]


def test_record_writes_the_event_and_one_message_in_one_insert(db, django_assert_num_queries):
    # PostgreSQL: one statement for the event and its message; elsewhere the event's
    # INSERT and the message's. No savepoints either way.
    expected = 1 if connection.vendor == "postgresql" else 2
    with transaction.atomic(), django_assert_num_queries(expected):
        event = record("accounts.logout")
    assert list(OutboxMessage.objects.values_list("topic", "payload")) == [
        ("audit.chain", {"event": event.pk, "organization": None})
    ]


def test_enqueue_together_refuses_an_unknown_topic(db):
    with pytest.raises(outbox.UnknownTopicError, match=r"nobody\.listens"):
        outbox.enqueue_together([("audit.siem", {"event": 1}), ("nobody.listens", {})])
    assert not OutboxMessage.objects.exists()


def test_commits_in_quick_succession_share_dispatcher_runs_but_each_is_followed_by_one(
    monkeypatch,
):
    import time

    from huey.contrib.djhuey import HUEY

    queued: list[float] = []
    monkeypatch.setattr(HUEY, "immediate", False)
    monkeypatch.setattr(outbox, "_queue_dispatcher", lambda: queued.append(time.monotonic()))
    monkeypatch.setattr(outbox, "_last_kick", float("-inf"))
    monkeypatch.setattr(outbox, "_kick_timer", None)

    committed = []
    for _ in range(3):
        committed.append(time.monotonic())
        outbox._start_dispatcher()
    assert len(queued) == 1  # the first at once; the other two wait for the timer
    time.sleep(outbox.KICK_INTERVAL * 3)

    assert len(queued) == 2
    assert queued[1] > committed[-1]  # the timer's run comes after the last commit
    assert outbox._kick_timer is None

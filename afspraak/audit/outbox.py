"""The transactional outbox: the one way a side effect leaves the system.

A domain function writes its change, its audit event and an ``OutboxMessage`` in one
transaction (``enqueue``). Nothing is sent from inside that transaction: when it
commits, one job is queued that runs the dispatcher (``deliver_due``) — at most every
``KICK_INTERVAL`` per process, a commit in between covered by a run queued at the
interval's end — and a periodic job runs it every minute as well, so a message whose
job was lost still goes out. A rolled-back transaction leaves no message and so sends
nothing.

The dispatcher claims each due message with a conditional UPDATE (two consumers never
deliver one message at once; a claim older than ``CLAIM_LEASE`` is taken over), calls
the handler registered for its topic, and marks it delivered. A handler that raises is
retried later with a growing delay, up to ``MAX_ATTEMPTS``, then the message is marked
failed and logged for the operator. Delivery is at least once: handlers are written to
be idempotent where the receiver can tell (a booking e-mail's Message-ID is made from the
message, an ECS line carries its event id), so the rare repeat after a crash is
recognisable downstream.

Handlers register with ``@handles("topic")`` in their app's module, imported by the
app's ``ready()``; ``enqueue`` refuses a topic without a handler. Payloads hold ids and
codes; a secret a handler needs travels sealed under a ``sealed_`` key, which is dropped
once the message is delivered. Every message is deleted after ``RETENTION``.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from afspraak.audit.models import OutboxMessage

logger = logging.getLogger("afspraak.outbox")

Handler = Callable[[OutboxMessage], None]
# A batch handler takes every due message of its topic at once, oldest first (the chain's
# sequencer links them under one lock, the SIEM writer reads their events in one query).
BatchHandler = Callable[[list[OutboxMessage]], None]

MAX_ATTEMPTS = 10
# A message is deleted this long after it was written, delivered or not: what it would
# still announce is stale by then (an invitation link lasts as long), and deleted data
# must not linger here either (control D2).
RETENTION = timedelta(days=7)
# Payload keys with this prefix hold a secret sealed for the handler (an invitation link's):
# they are dropped from the row as soon as the message is delivered.
SEALED_PREFIX = "sealed_"
CLAIM_LEASE = timedelta(minutes=5)
# Messages looked at per round of the dispatcher; a batch topic's handler gets its share
# at once (each audit event leaves one message to the chain's sequencer): large enough
# that the claims, the chain head's lock and the marking as delivered are paid once for
# hundreds of events (with 100 they were a third of the dispatcher's time), small enough
# that one round ends well within its claims' lease.
BATCH_SIZE = 1000
_RETRY_BASE = timedelta(seconds=30)
_RETRY_CEILING = timedelta(hours=1)

_handlers: dict[str, Any] = {}
_batch_topics: set[str] = set()


class UnknownTopicError(ValueError):
    """A message was enqueued for a topic no handler delivers."""


def handles(topic: str, *, batch: bool = False) -> Callable[[Any], Any]:
    """Register the decorated function as the one handler of ``topic``.

    With ``batch=True`` it is called with a list of the topic's due messages, oldest
    first, and delivers all of them or raises (then each is retried).
    """

    def register(handler: Any) -> Any:
        existing = _handlers.get(topic)
        if existing is not None and existing is not handler:
            raise ValueError(f"outbox topic {topic!r} already has a handler")
        _handlers[topic] = handler
        if batch:
            _batch_topics.add(topic)
        else:
            _batch_topics.discard(topic)
        return handler

    return register


def enqueue(topic: str, payload: dict[str, Any], *, dispatch: bool = True) -> OutboxMessage:
    """Write a message for ``topic`` in the current transaction; it is delivered after commit.

    ``dispatch=False`` leaves starting the dispatcher to a message enqueued right after it
    in the same transaction (one run delivers both).
    """
    if topic not in _handlers:
        raise UnknownTopicError(f"no outbox handler delivers {topic!r}")
    # No savepoint: a failed write must roll back the caller's change with it.
    with transaction.atomic(savepoint=False):
        message = OutboxMessage.objects.create(topic=topic, payload=payload)
        if dispatch:
            dispatch_after_commit()
    return message


def enqueue_together(messages: list[tuple[str, dict[str, Any]]]) -> list[OutboxMessage]:
    """Write several messages in one INSERT in the current transaction; one dispatcher run.

    For a caller on a hot path (``record`` leaves three beside every audit event): one
    round trip to the database instead of one per message, and no savepoint, so an error
    here rolls back the caller's whole transaction, as it must.
    """
    require_topics([topic for topic, _ in messages])
    with transaction.atomic(savepoint=False):
        written = OutboxMessage.objects.bulk_create(
            [OutboxMessage(topic=topic, payload=payload) for topic, payload in messages]
        )
        dispatch_after_commit()
    return written


def require_topics(topics: list[str]) -> None:
    """Refuse topics no handler delivers (before anything is written for them)."""
    unknown = sorted({topic for topic in topics if topic not in _handlers})
    if unknown:
        raise UnknownTopicError(f"no outbox handler delivers {', '.join(map(repr, unknown))}")


def dispatch_after_commit() -> None:
    """Queue a dispatcher run for when the current transaction commits."""
    # The change is committed by then; a queue that fails must not turn it into an error
    # page: the periodic run delivers the message instead. A transaction that enqueues
    # several messages starts several runs; all but the first find nothing left to do.
    transaction.on_commit(_start_dispatcher)


# A process queues a dispatcher run at most this often: under load each commit would
# otherwise pay for a queue write (with SQLite's queue, a disk sync) to start a run that
# the previous one, still waiting, would do anyway.
KICK_INTERVAL = 0.2
_kick_lock = threading.Lock()
_last_kick = float("-inf")
_kick_timer: threading.Timer | None = None


def _forget_kicks() -> None:
    """Start a forked child with no timer (threads are not inherited)."""
    global _last_kick, _kick_timer
    _last_kick, _kick_timer = float("-inf"), None


os.register_at_fork(after_in_child=_forget_kicks)


def _start_dispatcher() -> None:
    """Queue a dispatcher run now, or have one queued within ``KICK_INTERVAL``.

    Every commit that leaves a message is followed by a run queued after it: either its
    own, or the timer's, armed after it and fired later.
    """
    global _last_kick, _kick_timer
    if HUEY.immediate:  # tests: deliver now, as the transaction commits
        _queue_dispatcher()
        return
    with _kick_lock:
        now = time.monotonic()
        if now - _last_kick >= KICK_INTERVAL:
            _last_kick = now
        else:
            if _kick_timer is None:
                _kick_timer = threading.Timer(_last_kick + KICK_INTERVAL - now, _timed_kick)
                _kick_timer.daemon = True  # the minute's periodic run covers a lost one
                _kick_timer.start()
            return
    _queue_dispatcher()


def _timed_kick() -> None:
    global _last_kick, _kick_timer
    with _kick_lock:
        _last_kick, _kick_timer = time.monotonic(), None
    _queue_dispatcher()


def _queue_dispatcher() -> None:
    try:
        deliver_outbox()
    except Exception as error:  # the queue is busy or down: the periodic run delivers
        logger.warning(
            "could not queue the outbox dispatcher (%s); the periodic run delivers",
            type(error).__name__,
        )


def _retry_delay(attempts: int) -> timedelta:
    return min(_RETRY_BASE * (2 ** (attempts - 1)), _RETRY_CEILING)


def _claimable(now: datetime) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(delivered_at__isnull=True, failed_at__isnull=True).filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - CLAIM_LEASE)
    )


def _claim_many(message_ids: list[int]) -> list[OutboxMessage]:
    """Claim what is still claimable of ``message_ids``; return those messages, oldest first."""
    now = timezone.now()
    with transaction.atomic():
        claimable = _claimable(now).filter(pk__in=message_ids)
        if connection.features.has_select_for_update_skip_locked:
            # Rows another dispatcher is claiming right now are simply not ours.
            claimable = claimable.select_for_update(skip_locked=True)
        claimed = list(claimable.values_list("pk", flat=True))
        OutboxMessage.objects.filter(pk__in=claimed).update(
            claimed_at=now, attempts=F("attempts") + 1
        )
    return list(OutboxMessage.objects.filter(pk__in=claimed).order_by("id"))


def _claim(message_id: int) -> bool:
    """Claim one message for delivery; False when another dispatcher has it or it is done."""
    # The time of this claim, not of the run's start: a long run must not stamp its late
    # claims with an old time that another dispatcher would take for an abandoned claim.
    now = timezone.now()
    claimed = (
        _claimable(now).filter(pk=message_id).update(claimed_at=now, attempts=F("attempts") + 1)
    )
    return claimed == 1


def _note_failure(message: OutboxMessage, error: Exception) -> None:
    now = timezone.now()
    failed = message.attempts >= MAX_ATTEMPTS
    OutboxMessage.objects.filter(pk=message.pk).update(
        claimed_at=None,
        available_at=now + _retry_delay(message.attempts),
        failed_at=now if failed else None,
        last_error=f"{type(error).__name__}: {error}"[:300],
    )
    log = logger.error if failed else logger.warning
    log(
        "outbox message %s (%s) failed on attempt %s%s: %s",
        message.pk,
        message.topic,
        message.attempts,
        ", giving up" if failed else "",
        type(error).__name__,
    )


def _note_delivered(messages: list[OutboxMessage]) -> None:
    now = timezone.now()
    plain = [m.pk for m in messages if not any(k.startswith(SEALED_PREFIX) for k in m.payload)]
    OutboxMessage.objects.filter(pk__in=plain).update(
        claimed_at=None, delivered_at=now, last_error=""
    )
    for message in messages:
        if message.pk not in plain:
            OutboxMessage.objects.filter(pk=message.pk).update(
                claimed_at=None,
                delivered_at=now,
                last_error="",
                payload={
                    k: v for k, v in message.payload.items() if not k.startswith(SEALED_PREFIX)
                },
            )


def _deliver(message: OutboxMessage) -> bool:
    """Run the handler of one claimed message and record how it went."""
    handler = _handlers.get(message.topic)
    try:
        if handler is None:
            raise UnknownTopicError(f"no outbox handler delivers {message.topic!r}")
        handler(message)
    except Exception as error:
        _note_failure(message, error)
        return False
    _note_delivered([message])
    return True


def _deliver_batch(topic: str, message_ids: list[int]) -> int:
    """Claim and deliver the due messages of a batch topic at once; return how many went out."""
    messages = _claim_many(message_ids)
    if not messages:
        return 0
    handler = _handlers[topic]
    try:
        handler(messages)
    except Exception:  # one of them may be at fault: find out which, one at a time
        return sum(_deliver_one_of_batch(handler, message) for message in messages)
    _note_delivered(messages)
    return len(messages)


def _deliver_one_of_batch(handler: BatchHandler, message: OutboxMessage) -> bool:
    """Deliver one message of a failed batch alone, so one bad message holds up no other."""
    try:
        handler([message])
    except Exception as error:
        _note_failure(message, error)
        return False
    _note_delivered([message])
    return True


def deliver_due(*, batch_size: int = BATCH_SIZE) -> int:
    """Deliver the messages that are due, oldest first; return how many went out.

    Rounds go on until one finds nothing new, so what a handler enqueues (the chain's
    sequencer hands its events on to the SIEM stream and the detection rules) goes out in
    the same run.
    """
    delivered = 0
    after = 0
    while True:
        now = timezone.now()
        due = list(
            _claimable(now)
            .filter(pk__gt=after, available_at__lte=now)
            .order_by("id")
            .values_list("id", "topic")[:batch_size]
        )
        batches: dict[str, list[int]] = {}
        for message_id, topic in due:
            if topic in _batch_topics:
                batches.setdefault(topic, []).append(message_id)
            elif _claim(message_id):
                delivered += _deliver(OutboxMessage.objects.get(pk=message_id))
        for topic, message_ids in batches.items():
            delivered += _deliver_batch(topic, message_ids)
        if not due:
            return delivered
        after = due[-1][0]


def purge_old(*, now: datetime | None = None) -> int:
    """Delete messages older than ``RETENTION``, delivered or not; return how many."""
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = OutboxMessage.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def retry_failed() -> int:
    """Make every message that ran out of attempts due again, with fresh attempts."""
    return OutboxMessage.objects.filter(delivered_at__isnull=True, failed_at__isnull=False).update(
        failed_at=None, attempts=0, claimed_at=None, available_at=timezone.now()
    )


@db_task()
def deliver_outbox() -> int:
    """Deliver what a transaction that just committed left in the outbox."""
    return deliver_due()


@db_periodic_task(crontab(minute="*"))
def deliver_outbox_periodically() -> int:
    """Deliver messages whose own run was lost or that wait for a retry."""
    return deliver_due()


@db_periodic_task(crontab(minute="17"))
def purge_outbox_periodically() -> int:
    """Delete the messages past their retention, every hour."""
    return purge_old()

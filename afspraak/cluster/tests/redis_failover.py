"""Redis loses its primary under a load of bookings; the sentinels promote the replica and the
app carries on by itself: no failed request but retryable answers, the job queue drained by
the consumer from the new primary (control D7).
"""

import sys
import threading
from collections import Counter
from datetime import datetime

from afspraak.cluster.loopback import wait_until
from afspraak.cluster.tests.rolling import (
    CLIENTS,
    RETRYABLE,
    ZONE,
    book_until,
    redis_failover_slots,
)

# Bookings go on this long once the replica leads, to show the nodes found it.
AFTER_PROMOTION_SECONDS = 3
QUEUE_DRAINED_TIMEOUT = 60


def _bookings(outcomes: list[Counter]) -> int:
    return sum(count[302] for count in outcomes)


def check_losing_the_redis_primary_under_bookings_fails_no_request(cluster):
    pair = cluster.redis
    assert pair.primary() == "primary"
    slots = redis_failover_slots(datetime.now(ZONE).date())
    counts: list[Counter] = [Counter() for _ in range(CLIENTS)]
    stop = threading.Event()
    clients = [
        threading.Thread(target=book_until, args=(stop, cluster, slots[n::CLIENTS], counts[n], n))
        for n in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    try:
        wait_until(lambda: _bookings(counts) >= 5, what="bookings before the failover", timeout=60)
        pair.kill("primary")
        promotion = pair.wait_for_primary("replica")
        booked_at_promotion = _bookings(counts)
        wait_until(
            lambda: _bookings(counts) >= booked_at_promotion + 5,
            what="bookings after the promotion",
            timeout=60,
        )
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=120)
    outcomes: Counter = sum(counts, Counter())
    failed = {
        outcome: count
        for outcome, count in outcomes.items()
        if not (isinstance(outcome, int) and (200 <= outcome < 400 or outcome in RETRYABLE))
    }
    sys.stderr.write(
        f"\nRedis failover: replica promoted {promotion:.1f} s after the primary was killed; "
        f"outcomes {dict(outcomes)}, failed {failed}\n"
    )
    assert failed == {}
    assert not any(client.is_alive() for client in clients)
    # The nodes queued jobs on the new primary and the consumer took every one of them.
    new_primary = pair.client("replica")
    assert new_primary.info("commandstats")["cmdstat_lpush"]["calls"] > 0
    queues = list(new_primary.scan_iter("huey.redis.*"))
    wait_until(
        lambda: all(new_primary.llen(key) == 0 for key in queues),
        what="the job queue drained from the new primary",
        timeout=QUEUE_DRAINED_TIMEOUT,
    )

"""A rolling restart of the app nodes under a load of bookings drops no request (control D7)."""

import sys
import threading
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

import requests

from afspraak.cluster.tests.clients import CSRF_COOKIE, through_haproxy

CLIENTS = 4
BOOK = "/demo/intro/book/"
ZONE = ZoneInfo("Europe/Amsterdam")
# HAProxy's answer when no node at all is up, and the app's when the database or Redis is
# failing over: the client may send the request again, after a short pause.
RETRYABLE = {503}
RETRY_PAUSE_SECONDS = 0.2
# The demo intro call offers about 560 slots. The rolling restart books from the first two
# thirds, the Redis failover from the last third. Each client pauses between slots, so a
# fast machine does not book its whole share before the restart is over: at most about
# 3 bookings/s per client, 93 slots each, lasts about 30 s (the restart takes 12-15 s).
PAUSE_BETWEEN_SLOTS_SECONDS = 0.25


def rolling_restart_slots(today: date) -> list[datetime]:
    """Return the slots the rolling restart books: the first two thirds of the demo's."""
    slots = demo_slots(today)
    return slots[: len(slots) * 2 // 3]


def redis_failover_slots(today: date) -> list[datetime]:
    """Return the slots the Redis failover books: the last third, latest first."""
    slots = demo_slots(today)
    return slots[len(slots) * 2 // 3 :][::-1]


def demo_slots(today: date) -> list[datetime]:
    """Return start times the demo intro call offers (weekday office hours, half-hourly)."""
    hours = (9, 10, 11, 13, 14, 15, 16)
    local_times = [time_of_day(hour, minute) for hour in hours for minute in (0, 30)]
    days = (today + timedelta(days=offset) for offset in range(2, 58))
    return [
        datetime.combine(day, moment, ZONE).astimezone(UTC)
        for day in days
        if day.weekday() < 5
        for moment in local_times
    ]


def iso(moment: datetime) -> str:
    """Write a time as the booking pages take it: ISO, UTC, with a Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def book_until(stop: threading.Event, cluster, slots: list[datetime], outcomes: Counter, n: int):
    """Book this client's slots one after another until ``stop`` is set; count every answer."""
    session = through_haproxy(cluster)
    page = session.get(f"{cluster.url}{BOOK}", params={"start": iso(slots[0])}, timeout=30)
    if page.status_code != 200:
        # Counted where the check sees it (an assertion here would only end the thread).
        outcomes[f"booking page {page.status_code}"] += 1
        return
    token = session.cookies[CSRF_COOKIE]
    for number, start in enumerate(slots):
        # A retryable answer saved nothing: the same slot is asked again, and must be free.
        while not stop.is_set():
            try:
                answer = session.post(
                    f"{cluster.url}{BOOK}",
                    data={
                        "csrfmiddlewaretoken": token,
                        "start": iso(start),
                        "name": f"Client {n} booking {number}",
                        "email": f"client{n}.{number}@example.test",
                        "timezone": "Europe/Amsterdam",
                    },
                    allow_redirects=False,
                    timeout=60,
                )
            except requests.RequestException as error:
                outcomes[f"error {type(error).__name__}"] += 1
                break
            outcomes[answer.status_code] += 1
            if answer.status_code not in RETRYABLE:
                break
            time.sleep(RETRY_PAUSE_SECONDS)
        if stop.wait(PAUSE_BETWEEN_SLOTS_SECONDS):
            return


def slots_tried(outcomes: Counter) -> int:
    """Return how many slots a client tried: every answer but the retried ones ended one."""
    return sum(count for outcome, count in outcomes.items() if outcome not in RETRYABLE)


def check_rolling_restart_under_bookings_fails_no_request(cluster):
    slots = rolling_restart_slots(datetime.now(ZONE).date())
    shares = [slots[n::CLIENTS] for n in range(CLIENTS)]
    counts: list[Counter] = [Counter() for _ in range(CLIENTS)]
    stop = threading.Event()
    clients = [
        threading.Thread(target=book_until, args=(stop, cluster, shares[n], counts[n], n))
        for n in range(CLIENTS)
    ]
    totals_before = {name: state.total for name, state in cluster.proxy.servers().items()}
    masters_before = [node.pids for node in cluster.nodes.nodes]
    for client in clients:
        client.start()
    try:
        figures = cluster.restart_rolling()
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=120)
    totals_after = {name: state.total for name, state in cluster.proxy.servers().items()}
    outcomes: Counter = sum(counts, Counter())

    booked = outcomes[302]
    failed = {
        outcome: count
        for outcome, count in outcomes.items()
        if not (isinstance(outcome, int) and (200 <= outcome < 400 or outcome in RETRYABLE))
    }
    sys.stderr.write(
        f"\nrolling restart: {booked} bookings, outcomes {dict(outcomes)}, failed {failed}\n"
        + "".join(
            f"  {figure.node}: drained in {figure.drain:.2f} s, restarted in "
            f"{figure.restart:.2f} s, back in HAProxy {figure.back_in_service:.2f} s later\n"
            for figure in figures
        )
    )
    assert failed == {}
    # Not even a retryable answer: one node is always in service (docs/runbooks/rolling-upgrade.md).
    assert outcomes == {302: booked}
    assert [figure.node for figure in figures] == ["app1", "app2"]
    # The load ran through the whole restart (no client ran out of slots before the end:
    # each slot tried ended in one answer that was not retryable) and both nodes served
    # part of it.
    assert all(slots_tried(count) < len(share) for count, share in zip(counts, shares, strict=True))
    assert all(totals_after[name] > totals_before[name] for name in totals_before)
    assert booked >= 20
    assert not any(client.is_alive() for client in clients)
    # Each node runs a new gunicorn master now, and both are back in service.
    assert all(
        before != node.pids
        for before, node in zip(masters_before, cluster.nodes.nodes, strict=True)
    )
    assert {state.status for state in cluster.proxy.servers().values()} == {"UP"}

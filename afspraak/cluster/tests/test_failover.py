"""The Patroni pair loses its primary under a stream of bookings and loses no confirmed booking."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from afspraak.cluster.loopback import wait_until
from afspraak.cluster.patroni import PatroniPair, running_patroni_pair

pytestmark = pytest.mark.cluster

# Each kind of client in two processes: book_meeting directly, and the booking form over HTTPS.
CLIENTS = [("book", 0), ("book", 1), ("post", 2), ("post", 3)]
CLIENT_MODULE = "afspraak.cluster.tests.booking_client"

BOOKED_SQL = "SELECT start FROM bookings_booking WHERE status = 'confirmed'"
HALF_WRITTEN_SQL = """
    SELECT count(*) FROM bookings_booking b
     WHERE NOT EXISTS (SELECT 1 FROM bookings_invitee i WHERE i.id = b.invitee_id)
        OR NOT EXISTS (SELECT 1 FROM audit_auditevent e
                        WHERE e.action = 'bookings.booking.created' AND e.target_id = b.public_id)
"""


@pytest.fixture
def pair() -> Iterator[PatroniPair]:
    # Not pytest's tmp_path: its parents are closed to the postgres user the nodes run as.
    directory = Path(tempfile.mkdtemp(prefix="afspraak-patroni-"))
    directory.chmod(0o755)
    try:
        with running_patroni_pair(directory) as running:
            yield running
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _client_environment(pair: PatroniPair) -> dict[str, str]:
    return {
        **os.environ,
        **pair.database_settings("owner"),
        "DJANGO_SETTINGS_MODULE": "afspraak.settings",
        "AFSPRAAK_MASTER_KEYSET_FILE": str(pair.directory / "keys" / "master.json"),
        "AFSPRAAK_MASTER_KEY_URI": "",
        "AFSPRAAK_LOG_LEVEL": "warning",
        "AFSPRAAK_VAR_DIR": str(pair.directory / "var"),
        "AFSPRAAK_ALLOWED_HOSTS": "testserver",
        "AFSPRAAK_BOOKING_IP_RATE": "100000/h/ip",
    }


def _superuser_on(pair: PatroniPair, node: str) -> dict:
    # The superuser reads every organization's rows: row-level security does not apply to it.
    return pair.connection_kwargs(node, "superuser") | {"dbname": pair.roles.database}


def _each_confirmed_since(outputs: list[Path], moment: float, count: int) -> bool:
    """Tell whether every client has had ``count`` bookings confirmed after ``moment``."""
    return all(
        sum(o["outcome"] == "confirmed" and o["at"] > moment for o in _outcomes([output])) >= count
        for output in outputs
    )


def _tails(outputs: list[Path]) -> str:
    return "\n".join(f"{path.name}: {path.read_text()[-600:]}" for path in outputs)


def _any_ended(clients: list[subprocess.Popen]) -> bool:
    return any(client.poll() is not None for client in clients)


def _outcomes(files: list[Path]) -> list[dict]:
    lines = []
    for path in files:
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def test_killing_the_primary_loses_no_confirmed_booking(pair):
    environment = _client_environment(pair)
    setup = subprocess.run(  # noqa: S603 (this interpreter, the client module)
        [sys.executable, "-m", CLIENT_MODULE, "setup"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert setup.returncode == 0, setup.stderr
    meeting_type_id = setup.stdout.split()[-1]
    stop_file = pair.directory / "stop-booking"
    outputs = [pair.directory / f"client-{n}.jsonl" for _, n in CLIENTS]
    clients = []
    for (kind, n), output in zip(CLIENTS, outputs, strict=True):
        arguments = [str(n), meeting_type_id] if kind == "book" else [str(n)]
        with output.open("w") as out:
            clients.append(
                subprocess.Popen(  # noqa: S603 (this interpreter, the client module)
                    [sys.executable, "-m", CLIENT_MODULE, kind, *arguments, str(stop_file)],
                    env=environment,
                    stdout=out,
                )
            )
    try:
        wait_until(
            lambda: _each_confirmed_since(outputs, 0, 2) or _any_ended(clients),
            timeout=60,
            what="bookings before the failover",
        )
        assert not _any_ended(clients), f"a booking client failed:\n{_tails(outputs)}"
        killed_at = time.time()
        old = pair.kill_leader()
        new = pair.wait_for_new_leader(old)
        failover_seconds = time.time() - killed_at

        promoted_at = killed_at + failover_seconds
        try:
            wait_until(
                lambda: _each_confirmed_since(outputs, promoted_at, 2) or _any_ended(clients),
                timeout=30,
                what="bookings on the new primary",
            )
        except TimeoutError as error:
            pytest.fail(f"{error}; the clients' last outcomes:\n{_tails(outputs)}")
        assert not _any_ended(clients), f"a booking client failed:\n{_tails(outputs)}"
    finally:
        stop_file.touch()
        for client in clients:
            client.wait(timeout=60)
    assert [client.returncode for client in clients] == [0] * len(CLIENTS)

    outcomes = _outcomes(outputs)
    confirmed = {
        datetime.fromisoformat(o["start"]) for o in outcomes if o["outcome"] == "confirmed"
    }
    retryable = [o for o in outcomes if o["outcome"] == "retryable"]
    print(
        f"\nfailover: {old} killed, {new} primary after {failover_seconds:.1f} s; "
        f"{len(confirmed)} bookings confirmed, {len(retryable)} retryable failures"
    )
    # Nothing but bookings and retryable answers: no 500, no other refusal.
    assert [o for o in outcomes if o["outcome"] == "error"] == []
    # Clients of both kinds were caught in the switch and carried on by themselves.
    assert {o.get("status") for o in retryable} == {None, 503}
    assert min(o["at"] for o in retryable) < killed_at + failover_seconds

    with psycopg.connect(**_superuser_on(pair, new)) as conn:
        stored = {row[0] for row in conn.execute(BOOKED_SQL)}
        half_written = conn.execute(HALF_WRITTEN_SQL).fetchone()
    assert confirmed - stored == set(), "confirmed bookings lost in the failover"
    assert half_written == (0,)

    # The old primary comes back as the new primary's standby, rewound (pg_rewind).
    pair.restart_node(old)
    pair.wait_for_standby(old)
    assert pair.leader() == new
    assert pair.timeline(old) == pair.timeline(new) > 1
    with psycopg.connect(**_superuser_on(pair, old)) as conn:
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        on_old = {row[0] for row in conn.execute(BOOKED_SQL)}
    assert on_old == stored
    print("\n".join(pair.events))

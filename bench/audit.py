"""Benchmark the audit trail on PostgreSQL: appends, the chain's sequencer, verification.

Run: ``.venv/bin/python bench/audit.py`` (as root, like ``make test``: it starts a
throw-away PostgreSQL server on 127.0.0.1 and removes it afterwards). It prints:

- events appended per second by 4 concurrent writers (processes, each with its own
  connection), each a full ``record()``: the event and its outbox messages in one
  transaction (the chain is built after commit, off the writers' path);
- links per second made by the one sequencer (``link_events`` over the chain's messages,
  100 at a time, as the dispatcher hands them over);
- messages per second the dispatcher delivers for the rest (SIEM lines, detection);
- events verified per second by ``verify_chain`` over a chain of
  ``AFSPRAAK_BENCH_AUDIT_CHAIN`` events (default 1,000,000; the events and links are
  bulk-written for this part, with the same MACs the sequencer makes).

``AFSPRAAK_BENCH_AUDIT_EVENTS`` sets the events per writer (default 5,000).
"""

import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import figure
from _postgres import start_django_on_postgres

WRITERS = 4
EVENTS_PER_WRITER = int(os.environ.get("AFSPRAAK_BENCH_AUDIT_EVENTS", "5000"))
CHAIN_LENGTH = int(os.environ.get("AFSPRAAK_BENCH_AUDIT_CHAIN", "1000000"))
BULK = 20_000


def _write(count: int) -> None:
    from django.db import connections

    from afspraak.audit.trail import record

    try:
        for n in range(count):
            record("accounts.login.failed", data={"n": n})
    finally:
        connections.close_all()


def _appends_per_second() -> float:
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_write, args=(EVENTS_PER_WRITER,)) for _ in range(WRITERS)]
    started = time.perf_counter()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
        if writer.exitcode:
            sys.exit(f"FAILED: a writer exited with {writer.exitcode}")
    return WRITERS * EVENTS_PER_WRITER / (time.perf_counter() - started)


def _links_per_second() -> float:
    """Time the chain's sequencer alone over every waiting chain message, in batches."""
    from afspraak.audit.chain import CHAIN_TOPIC, link_events
    from afspraak.audit.models import AuditChainLink, OutboxMessage

    waiting = list(OutboxMessage.objects.filter(topic=CHAIN_TOPIC).order_by("id"))
    started = time.perf_counter()
    for index in range(0, len(waiting), 100):
        link_events(waiting[index : index + 100])
    seconds = time.perf_counter() - started
    links = AuditChainLink.objects.count()
    if links != WRITERS * EVENTS_PER_WRITER:
        sys.exit(f"FAILED: {links} links for {WRITERS * EVENTS_PER_WRITER} events")
    return links / seconds


def _delivered_per_second() -> float:
    """Time the dispatcher over everything else each event left (SIEM line, detection)."""
    from afspraak.audit.chain import CHAIN_TOPIC
    from afspraak.audit.models import OutboxMessage
    from afspraak.audit.outbox import deliver_due

    # The links are made; what remains is what a consumer delivers after them.
    OutboxMessage.objects.filter(topic=CHAIN_TOPIC).delete()
    started = time.perf_counter()
    delivered = deliver_due()
    return delivered / (time.perf_counter() - started)


def _bulk_chain(length: int) -> None:
    """Append ``length`` events and their links in bulk, chained as the sequencer would."""
    from django.db import transaction
    from django.utils import timezone

    from afspraak.audit.chain import _chain_key, link_mac
    from afspraak.audit.models import AuditChainHead, AuditChainLink, AuditEvent

    key = _chain_key()
    head = AuditChainHead.objects.get(pk=1)
    sequence, previous = head.sequence, head.mac
    now = timezone.now()
    written = 0
    while written < length:
        size = min(BULK, length - written)
        with transaction.atomic():
            events = AuditEvent.objects.bulk_create(
                [
                    AuditEvent(
                        occurred_at=now, action="accounts.logout", outcome="success", data={"n": n}
                    )
                    for n in range(written, written + size)
                ]
            )
            links = []
            for event in events:
                sequence += 1
                mac = link_mac(key, sequence, previous, event)
                links.append(
                    AuditChainLink(event=event, sequence=sequence, previous_mac=previous, mac=mac)
                )
                previous = mac
            AuditChainLink.objects.bulk_create(links)
        written += size
    AuditChainHead.objects.filter(pk=1).update(sequence=sequence, mac=previous)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="afspraak-bench-") as name:
        start_django_on_postgres(Path(name), "afspraak_audit_bench")
        from afspraak.audit.chain import verify_chain

        appends = _appends_per_second()
        print(f"{WRITERS} writers, {EVENTS_PER_WRITER:,} events each, PostgreSQL:")
        print(f"  {appends:,.0f} events appended/s (target >= 5,000/s)")
        figure("audit", f"appends, {WRITERS} writers (PostgreSQL)", appends, "events/s", ">= 5,000")
        print(f"  {_links_per_second():,.0f} links/s made by the chain's sequencer")
        print(
            f"  {_delivered_per_second():,.0f} messages/s delivered after it "
            "(SIEM lines, detection rules)"
        )

        _bulk_chain(CHAIN_LENGTH - WRITERS * EVENTS_PER_WRITER)
        started = time.perf_counter()
        report = verify_chain()
        seconds = time.perf_counter() - started
        if not report.intact:
            sys.exit(f"FAILED: the benchmark's chain does not verify: {report.first_break}")
        print(
            f"  verified {report.links_checked:,} links in {seconds:.1f} s: "
            f"{report.links_checked / seconds:,.0f} events/s"
        )
        figure("audit", "chain verification", report.links_checked / seconds, "events/s")


if __name__ == "__main__":
    main()

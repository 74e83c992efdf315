"""Benchmark the audit trail on PostgreSQL: appends, the chain's sequencer, verification.

Run: ``.venv/bin/python bench/audit.py`` (as root, like ``make test``: it starts a
throw-away PostgreSQL server on 127.0.0.1 and removes it afterwards). It prints:

- events appended per second by 4 concurrent writers (processes, each with its own
  connection), each append one ``record()`` of a member's action — actor,
  organization, target, address, browser, request id, ids in the data — and its commit,
  which queues the outbox's dispatcher. Twice: as the app records an event on its own
  (a refusal, a sign-in: no transaction around it, the event and its outbox message are
  one statement, atomic by itself: one round trip), then each event in a transaction of
  its own (``transaction.atomic``: BEGIN and COMMIT around the statement, three round
  trips; an event beside a change shares the change's transaction, so this is the
  dearest case). The chain is built later, off the writers' path. Also the CPU each
  append costs, in the writer and in its PostgreSQL backend, and the rate those costs
  allow on the machine's free cores: on a machine shared with other work the
  wall-clock rate says more about the neighbours than about the code, the CPU per
  append does not;
- what the dispatcher then does with the backlog, as it does in production
  (``deliver_due``): events per second through all of it (each linked into the chain,
  written as an ECS line to the SIEM file sink, looked at by the detection rules), and
  links per second of the chain's sequencer alone (the time spent in its handler);
- events verified per second by ``verify_chain`` over a chain of
  ``AFSPRAAK_BENCH_AUDIT_CHAIN`` events (default 1,000,000; the events and links are
  bulk-written for this part, with the same MACs the sequencer makes).

``AFSPRAAK_BENCH_AUDIT_EVENTS`` sets the events per writer (default 5,000).
"""

import contextlib
import logging
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _figures import figure
from _postgres import start_django_on_postgres

WRITERS = 4
EVENTS_PER_WRITER = int(os.environ.get("AFSPRAAK_BENCH_AUDIT_EVENTS", "5000"))
CHAIN_LENGTH = int(os.environ.get("AFSPRAAK_BENCH_AUDIT_CHAIN", "1000000"))
BULK = 20_000
_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """Return the CPU seconds (user and system) process ``pid`` of this machine used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _members() -> tuple[Any, Any]:
    """Create the organization and the member whose actions the writers record."""
    from afspraak.accounts.models import User
    from afspraak.audit.context import AuditContext
    from afspraak.tenancy.organizations import create_organization

    member = User.objects.create_user("member@bench.test", "not used by the benchmark")
    organization = create_organization(AuditContext.system(member), name="Bench", slug="bench")
    return member, organization


def _write(
    count: int, member: Any, organization: Any, own_transaction: bool, backend_cpu: Any
) -> None:
    from django.db import connection, connections, transaction

    from afspraak.audit.context import AuditContext, new_request_id
    from afspraak.audit.trail import record

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            (backend,) = cursor.fetchone()
        started = _process_cpu(backend)
        for n in range(count):
            context = AuditContext(
                actor=member,
                ip_address=f"203.0.113.{n % 250}",
                user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
                request_id=new_request_id(),
            )
            with transaction.atomic() if own_transaction else contextlib.nullcontext():
                record(
                    "scheduling.meeting_type.updated",
                    context=context,
                    organization=organization,
                    target=organization,
                    data={"meeting_type": f"mtp_{n:024d}", "fields": ["duration_minutes"]},
                )
        backend_cpu.value = _process_cpu(backend) - started
    finally:
        connections.close_all()


def _appends(member: Any, organization: Any, own_transaction: bool) -> tuple[float, float, float]:
    """Return appends per second, and CPU seconds per append in the writers and backends."""
    from django.db import connections

    connections.close_all()
    context = multiprocessing.get_context("fork")
    backend_cpu = [context.Value("d", 0.0) for _ in range(WRITERS)]
    writers = [
        context.Process(
            target=_write,
            args=(EVENTS_PER_WRITER, member, organization, own_transaction, cpu),
        )
        for cpu in backend_cpu
    ]
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
        if writer.exitcode:
            sys.exit(f"FAILED: a writer exited with {writer.exitcode}")
    seconds = time.perf_counter() - started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    events = WRITERS * EVENTS_PER_WRITER
    writer_cpu = (
        children.ru_utime + children.ru_stime - children_before.ru_utime - children_before.ru_stime
    )
    return events / seconds, writer_cpu / events, sum(c.value for c in backend_cpu) / events


def _timed(handler: Callable[[Any], None], spent: list[float]) -> Callable[[Any], None]:
    def timed(messages: Any) -> None:
        started = time.perf_counter()
        try:
            handler(messages)
        finally:
            spent[0] += time.perf_counter() - started

    return timed


def _dispatch() -> tuple[float, float]:
    """Deliver the writers' backlog; return events/s through it all and links/s of the chain."""
    from afspraak.audit import outbox
    from afspraak.audit.chain import CHAIN_TOPIC
    from afspraak.audit.models import AuditChainLink, AuditEvent, OutboxMessage

    # The writers' events, and the few the set-up recorded (the organization's creation).
    events = AuditEvent.objects.count()
    sequencer = [0.0]
    outbox._handlers[CHAIN_TOPIC] = _timed(outbox._handlers[CHAIN_TOPIC], sequencer)
    started = time.perf_counter()
    while outbox.deliver_due():
        pass
    seconds = time.perf_counter() - started
    links = AuditChainLink.objects.count()
    if links != events:
        sys.exit(f"FAILED: {links} links for {events} events")
    waiting = OutboxMessage.objects.filter(delivered_at__isnull=True).count()
    if waiting:
        sys.exit(f"FAILED: {waiting} outbox messages were not delivered")
    return events / seconds, links / sequencer[0]


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
        # The SIEM lines are written, as in production, to a file rather than the console.
        os.environ["AFSPRAAK_SIEM_SINK"] = f"file:{name}/siem.json"
        start_django_on_postgres(Path(name), "afspraak_audit_bench")
        logging.getLogger("afspraak.audit.events").setLevel(logging.INFO)
        from afspraak.audit.chain import verify_chain

        member, organization = _members()
        cores = os.cpu_count() or 1
        print(f"{WRITERS} writers, {EVENTS_PER_WRITER:,} events each, PostgreSQL:")
        for own_transaction, shape in ((False, "on its own"), (True, "in its own transaction")):
            load = os.getloadavg()[0]
            appends, writer_cpu, backend_cpu = _appends(member, organization, own_transaction)
            print(f"  each event {shape}: {appends:,.0f} events appended/s (target >= 5,000/s)")
            print(
                f"    CPU per append: {writer_cpu * 1e6:,.0f} us in the writer, "
                f"{backend_cpu * 1e6:,.0f} us in its PostgreSQL backend; "
                f"{cores} cores (load {load:.1f} before the run) allow at most "
                f"{cores / (writer_cpu + backend_cpu):,.0f} events/s"
            )
            figure(
                "audit",
                f"appends, {WRITERS} writers, each event {shape} (PostgreSQL)",
                appends,
                "events/s",
                ">= 5,000",
            )
            figure(
                "audit",
                f"CPU per append {shape}, writer + backend",
                (writer_cpu + backend_cpu) * 1e6,
                "us",
            )
        through, links = _dispatch()
        print(
            f"  dispatcher: {through:,.0f} events/s through the chain, the SIEM stream and "
            f"the detection rules; {links:,.0f} links/s in the chain's sequencer"
        )
        figure("audit", "dispatcher (chain, SIEM, detection)", through, "events/s")

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

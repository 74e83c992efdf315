"""The tamper-evident audit chain: every committed event linked to the one before it.

``record`` leaves one ``CHAIN_TOPIC`` outbox message beside each event; after commit the
dispatcher hands the due ones to ``link_events``, the one sequencer: under a lock on the
chain's head row it gives each event the next sequence number and a MAC — HMAC-SHA256, under the
installation's chain key (sealed by the master key; the crypto app provides it at
start-up), over the event's canonical JSON, its sequence number and the previous MAC.
Requests never wait for that lock: linking runs off their path, in commit order as the
outbox delivers. In the transaction that links them, the sequencer hands the events on,
in chain order and a chunk per message, to the SIEM stream (``SIEM_TOPIC``) and the
detection rules (``DETECTION_TOPIC``): a request writes one message, not one per
consumer, and the SIEM receives the lines in the chain's order, the exported heads
among them.

``verify_chain`` walks the links and names the first break: an edited event (its MAC
no longer matches), a deleted link or event, an event inserted outside the chain, links
reordered. The head (sequence and MAC) also goes to the SIEM stream every
``AFSPRAAK_AUDIT_HEAD_EVERY`` links and every hour; ``verify_chain(head=…)`` checks the
table still holds that head, so a truncated or rewritten table is caught against the
SIEM's copy. ``verify_chain(using=alias)`` reads another database alias the same way
(the restore drill checks a restored copy): it only reads, so nothing of that copy —
its outbox included — is delivered or changed.
"""

import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.audit.models import AuditChainHead, AuditChainLink, AuditEvent, OutboxMessage
from afspraak.audit.outbox import enqueue, enqueue_together, handles

logger = logging.getLogger("afspraak.audit.events")

CHAIN_TOPIC = "audit.chain"
HEAD_TOPIC = "audit.chain.head"
# What the sequencer hands the linked events on to (their handlers: ``trail`` writes the
# ECS lines, ``detection`` runs the rules).
SIEM_TOPIC = "audit.siem"
DETECTION_TOPIC = "audit.detection"
# Events per hand-on message: a SIEM sink that fails in the middle of a message has the
# whole message written again, so a chunk bounds the lines a retry repeats.
HAND_ON_CHUNK = 100
GENESIS_MAC = "0" * 64

_key_provider: list[Callable[[], bytes]] = []


class ChainKeyMissingError(RuntimeError):
    """No chain key was provided (the crypto app provides it when it starts)."""


def provide_chain_key(provider: Callable[[], bytes]) -> None:
    """Have the chain keyed by ``provider()`` (the crypto app's sealed system secret)."""
    _key_provider[:] = [provider]


def _chain_key() -> bytes:
    if not _key_provider:
        raise ChainKeyMissingError("no audit chain key has been provided")
    return _key_provider[0]()


def canonical_event(event: AuditEvent) -> bytes:
    """Return the event's fields as canonical JSON (sorted keys, no spaces, UTC times)."""
    document = {
        "id": event.pk,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "action": event.action,
        "outcome": event.outcome,
        "actor": event.actor_id,
        "actor_public_id": event.actor_public_id,
        "organization": event.organization_id,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "ip_address": event.ip_address,
        "user_agent": event.user_agent,
        "source_pseudonym": event.source_pseudonym,
        "request_id": event.request_id,
        "data": event.data,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_mac(key: bytes, sequence: int, previous_mac: str, event: AuditEvent) -> str:
    """Return the MAC of ``event`` as link ``sequence`` after ``previous_mac``."""
    return _signed(hmac.new(key, digestmod=hashlib.sha256), sequence, previous_mac, event)


def _signed(signer: "hmac.HMAC", sequence: int, previous_mac: str, event: AuditEvent) -> str:
    """Return the MAC of ``event`` from a copy of ``signer`` (the key's set-up done once)."""
    mac = signer.copy()
    mac.update(f"{sequence}:{previous_mac}:".encode())
    mac.update(canonical_event(event))
    return mac.hexdigest()


def _head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    return head or AuditChainHead.objects.create(pk=1, mac=GENESIS_MAC)


@handles(CHAIN_TOPIC, batch=True)
def link_events(messages: list[OutboxMessage]) -> None:
    """Append the messages' events to the chain in their order (each once, however often)."""
    signer = hmac.new(_chain_key(), digestmod=hashlib.sha256)
    event_ids = [message.payload["event"] for message in messages]
    with transaction.atomic():
        head = _head()
        # The events and whether each is linked already, in one query (a redelivered
        # message's event is skipped).
        events = (
            AuditEvent.objects.filter(pk__in=event_ids)
            .annotate(is_linked=Exists(AuditChainLink.objects.filter(event_id=OuterRef("pk"))))
            .in_bulk()
        )
        linked = {event_id for event_id, event in events.items() if event.is_linked}
        sequence, mac, exported = head.sequence, head.mac, head.exported_sequence
        links = []
        for event_id in event_ids:
            if event_id in linked:
                continue
            event = events.get(event_id)
            if event is None:
                raise LookupError(f"audit event {event_id} is gone before it was chained")
            sequence += 1
            previous, mac = mac, _signed(signer, sequence, mac, event)
            links.append(
                AuditChainLink(event=event, sequence=sequence, previous_mac=previous, mac=mac)
            )
            linked.add(event_id)
            if sequence - exported >= settings.AFSPRAAK_AUDIT_HEAD_EVERY:
                _export_head(sequence, mac)
                exported = sequence
        AuditChainLink.objects.bulk_create(links)
        AuditChainHead.objects.filter(pk=1).update(sequence=sequence, mac=mac)
        organizations = {m.payload["event"]: m.payload.get("organization") for m in messages}
        _hand_on([link.event_id for link in links], organizations)


def _hand_on(event_ids: list[int], organizations: dict[int, str | None]) -> None:
    """Queue the newly linked events, in chain order, for the SIEM stream and the rules."""
    for start in range(0, len(event_ids), HAND_ON_CHUNK):
        chunk = event_ids[start : start + HAND_ON_CHUNK]
        enqueue_together(
            [
                # The organization's public id as it was when the event was recorded: the
                # organization's own deletion event names it after its row is gone.
                (SIEM_TOPIC, {"events": [[event, organizations.get(event)] for event in chunk]}),
                (DETECTION_TOPIC, {"events": chunk}),
            ]
        )


def link_event(message: OutboxMessage) -> None:
    """Append one message's event to the chain (once: a repeated delivery changes nothing)."""
    link_events([message])


def _export_head(sequence: int, mac: str) -> None:
    """Write the chain head to the SIEM stream (the copy a rewritten table cannot change)."""
    AuditChainHead.objects.filter(pk=1).update(
        exported_sequence=sequence, exported_at=timezone.now()
    )
    # Through the outbox, like the events: a SIEM that is down delays the head, never the
    # chain, and the head is written once the SIEM takes lines again.
    enqueue(HEAD_TOPIC, {"sequence": sequence, "mac": mac})


@handles(HEAD_TOPIC)
def write_head_line(message: OutboxMessage) -> None:
    """Write an exported chain head as one ECS JSON line to the SIEM stream."""
    head = {"sequence": message.payload["sequence"], "mac": message.payload["mac"]}
    logger.info("audit.chain.head", extra={"audit_chain_head": head})


def export_head() -> tuple[int, str] | None:
    """Write the current head to the SIEM stream now; return it (None for an empty chain)."""
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        if head is None or head.sequence == 0:
            return None
        _export_head(head.sequence, head.mac)
        return head.sequence, head.mac


@db_periodic_task(crontab(minute="0"))
def export_head_hourly() -> None:
    """Write the chain head to the SIEM stream every hour, however few events came."""
    export_head()


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: how many links it checked and the first break, if any."""

    links_checked: int
    first_break: str | None

    @property
    def intact(self) -> bool:
        return self.first_break is None


def verify_chain(
    *,
    head: tuple[int, str] | None = None,
    batch_size: int = 5000,
    using: str = DEFAULT_DB_ALIAS,
) -> ChainReport:
    """Walk the chain of database ``using`` from its start and return the first break."""
    signer = hmac.new(_chain_key(), digestmod=hashlib.sha256)
    previous_mac = GENESIS_MAC
    expected = 1
    checked = 0
    last_event_id = 0
    links = AuditChainLink.objects.using(using).order_by("sequence")
    while True:
        batch = list(links.filter(sequence__gte=expected)[:batch_size])
        if not batch:
            break
        events = AuditEvent.objects.using(using).in_bulk([link.event_id for link in batch])
        for link in batch:
            if link.sequence != expected:
                return ChainReport(checked, f"link {expected} is missing (deleted)")
            if link.previous_mac != previous_mac:
                return ChainReport(
                    checked,
                    f"link {link.sequence} does not follow link {expected - 1} "
                    "(links reordered or inserted)",
                )
            event = events.get(link.event_id)
            if event is None:
                return ChainReport(
                    checked, f"event {link.event_id} of link {link.sequence} is missing (deleted)"
                )
            if not hmac.compare_digest(
                link.mac, _signed(signer, link.sequence, previous_mac, event)
            ):
                return ChainReport(
                    checked, f"event {event.pk} of link {link.sequence} was changed (edited)"
                )
            previous_mac = link.mac
            last_event_id = max(last_event_id, event.pk)
            expected += 1
            checked += 1
    unlinked = _inserted_event(before=last_event_id, using=using)
    if unlinked is not None:
        return ChainReport(checked, f"event {unlinked} is not in the chain (inserted)")
    if head is not None:
        sequence, mac = head
        if sequence > checked:
            return ChainReport(
                checked,
                f"the chain ends at link {checked}, before the exported head "
                f"{sequence} (truncated)",
            )
        exported = (
            AuditChainLink.objects.using(using)
            .filter(sequence=sequence)
            .values_list("mac", flat=True)
        )
        if list(exported) != [mac]:
            return ChainReport(
                checked, f"link {sequence} differs from the exported head (rewritten)"
            )
    return ChainReport(checked, None)


def _inserted_event(*, before: int, using: str) -> int | None:
    """Return an event older than the newest chained one that has no link and none coming."""
    coming = {
        int(payload["event"])
        for payload in OutboxMessage.objects.using(using)
        .filter(topic=CHAIN_TOPIC, delivered_at__isnull=True)
        .values_list("payload", flat=True)
    }
    return (
        AuditEvent.objects.using(using)
        .filter(pk__lt=before, link__isnull=True)
        .exclude(pk__in=coming)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )

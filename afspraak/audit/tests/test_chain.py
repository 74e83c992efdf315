"""The tamper-evident chain: committed events are linked in order, and tampering is named."""

import io
import json
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test import RequestFactory

from afspraak.audit import chain
from afspraak.audit.chain import (
    CHAIN_TOPIC,
    DETECTION_TOPIC,
    SIEM_TOPIC,
    link_event,
    link_events,
    verify_chain,
)
from afspraak.audit.context import AuditContext
from afspraak.audit.logformat import ECSFormatter
from afspraak.audit.models import AuditChainHead, AuditChainLink, AuditEvent, OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.audit.trail import record
from afspraak.tenancy.organizations import delete_organization
from afspraak.testing.access import member_access
from afspraak.testing.database import triggers_lifted
from afspraak.testing.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chained(django_capture_on_commit_callbacks):
    """Record ``n`` committed events and let the sequencer link them; return them."""

    def make(n: int) -> list[AuditEvent]:
        made = []
        for index in range(n):
            with django_capture_on_commit_callbacks(execute=True):
                made.append(record("accounts.logout", data={"n": index}))
        return made

    return make


def raw(sql: str, params: list) -> None:
    """Change the tables as an intruder with database access would: past the triggers."""
    with triggers_lifted(connection), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_committed_events_are_linked_in_order_and_the_chain_verifies(chained):
    events = chained(3)

    links = list(AuditChainLink.objects.order_by("sequence"))
    assert [link.event_id for link in links] == [event.pk for event in events]
    assert [link.sequence for link in links] == [1, 2, 3]
    assert links[1].previous_mac == links[0].mac
    assert AuditChainHead.objects.get().sequence == 3
    assert verify_chain().intact
    assert verify_chain().links_checked == 3


def test_a_repeated_delivery_links_an_event_once_and_hands_it_on_once(chained):
    [event] = chained(1)

    link_event(OutboxMessage(topic="audit.chain", payload={"event": event.pk}))

    assert AuditChainLink.objects.count() == 1
    assert OutboxMessage.objects.filter(topic__in=[SIEM_TOPIC, DETECTION_TOPIC]).count() == 2


def test_the_sequencer_hands_the_linked_events_on_in_chain_order_in_chunks(monkeypatch):
    monkeypatch.setattr(chain, "HAND_ON_CHUNK", 2)
    organization = OrganizationFactory.create()
    with transaction.atomic():
        events = [
            record("accounts.logout", organization=organization if n == 1 else None)
            for n in range(3)
        ]
    # Delivered the other way round: the chain, and what it hands on, follow delivery.
    messages = list(OutboxMessage.objects.filter(topic=CHAIN_TOPIC).order_by("-id"))
    link_events(messages)

    handed_on = OutboxMessage.objects.order_by("id")
    siem = [m.payload["events"] for m in handed_on.filter(topic=SIEM_TOPIC)]
    detection = [m.payload["events"] for m in handed_on.filter(topic=DETECTION_TOPIC)]
    newest, middle, oldest = (event.pk for event in reversed(events))
    assert siem == [[[newest, None], [middle, organization.public_id]], [[oldest, None]]]
    assert detection == [[newest, middle], [oldest]]
    assert list(AuditChainLink.objects.order_by("sequence").values_list("event", flat=True)) == [
        newest,
        middle,
        oldest,
    ]


def test_an_organizations_deletion_reaches_the_siem_stream_with_its_public_id(tenants, caplog):
    organization = tenants.a
    owner = member_access(tenants.owner, reauthenticated=True)
    with caplog.at_level(logging.INFO, logger="afspraak.audit.events"):
        delete_organization(owner, confirmation_slug=organization.slug)
        deliver_due()

    lines = [
        json.loads(ECSFormatter().format(r))
        for r in caplog.records
        if getattr(r, "audit_event", None)
    ]
    [deleted] = [line for line in lines if line["event.action"] == "tenancy.organization.deleted"]
    assert deleted["organization.id"] == organization.public_id


def test_an_edited_event_is_named(chained):
    events = chained(3)
    raw("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 99}', events[1].pk])

    report = verify_chain()

    assert not report.intact
    assert report.first_break == f"event {events[1].pk} of link 2 was changed (edited)"
    assert report.links_checked == 1


def test_a_deleted_event_is_named(chained):
    events = chained(3)
    raw("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    assert verify_chain().first_break == f"event {events[1].pk} of link 2 is missing (deleted)"


def test_a_deleted_link_is_named(chained):
    chained(3)
    raw("DELETE FROM audit_auditchainlink WHERE sequence = %s", [2])

    assert verify_chain().first_break == "link 2 is missing (deleted)"


def test_an_event_inserted_outside_the_chain_is_named(chained):
    events = chained(2)
    raw(
        "INSERT INTO audit_auditevent (occurred_at, action, outcome, actor_public_id, "
        "target_type, target_id, user_agent, source_pseudonym, request_id, data) "
        "VALUES (%s, 'accounts.logout', 'success', '', '', '', '', '', '', '{}')",
        [events[0].occurred_at],
    )
    inserted = AuditEvent.objects.filter(link__isnull=True).get().pk
    chained(1)

    assert verify_chain().first_break == f"event {inserted} is not in the chain (inserted)"


def test_reordered_links_are_named(chained):
    chained(3)
    for old, new in ((2, -1), (3, 2), (-1, 3)):
        raw("UPDATE audit_auditchainlink SET sequence = %s WHERE sequence = %s", [new, old])

    assert verify_chain().first_break == (
        "link 2 does not follow link 1 (links reordered or inserted)"
    )


def test_a_truncated_or_rewritten_table_is_caught_against_the_exported_head(chained):
    chained(3)
    head = AuditChainHead.objects.get()
    exported = (head.sequence, head.mac)
    assert verify_chain(head=exported).intact

    raw("DELETE FROM audit_auditchainlink WHERE sequence = %s", [3])
    assert verify_chain(head=exported).first_break == (
        "the chain ends at link 2, before the exported head 3 (truncated)"
    )
    assert verify_chain(head=(2, "0" * 64)).first_break == (
        "link 2 differs from the exported head (rewritten)"
    )


def test_the_head_goes_to_the_siem_stream_every_n_links(chained, settings, caplog):
    settings.AFSPRAAK_AUDIT_HEAD_EVERY = 2
    with caplog.at_level(logging.INFO, logger="afspraak.audit.events"):
        chained(5)

    heads = [
        json.loads(ECSFormatter().format(r))
        for r in caplog.records
        if getattr(r, "audit_chain_head", None)
    ]
    assert [head["afspraak.chain"]["sequence"] for head in heads] == [2, 4]
    assert heads[0]["event.action"] == "audit.chain.head"
    link = AuditChainLink.objects.get(sequence=4)
    assert heads[1]["afspraak.chain"]["mac"] == link.mac


def test_the_command_verifies_and_exits_non_zero_on_a_break(chained):
    events = chained(2)
    out = io.StringIO()
    call_command("audit", "verify", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"intact": True, "links_checked": 2, "first_break": None}

    raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["accounts.login", events[0].pk])
    with pytest.raises(
        CommandError, match=r"broken after 0 good links: event \d+ of link 1 was changed"
    ):
        call_command("audit", "verify", stdout=io.StringIO())
    with pytest.raises(CommandError, match="SEQUENCE:MAC"):
        call_command("audit", "verify", "--head", "nonsense", stdout=io.StringIO())


def test_an_invitees_address_and_browser_are_kept_only_as_a_pseudonym(chained):
    organization = OrganizationFactory.create()
    request = RequestFactory().get("/", HTTP_USER_AGENT="Firefox 140", REMOTE_ADDR="203.0.113.9")
    visitor = AuditContext.from_request(request)

    first = record("bookings.booking.created", context=visitor, organization=organization)
    again = record("bookings.booking.cancelled", context=visitor, organization=organization)
    elsewhere = record("bookings.booking.created", context=visitor, organization=None)

    stored = AuditEvent.objects.get(pk=first.pk)
    assert (stored.ip_address, stored.user_agent) == (None, "")
    assert len(stored.source_pseudonym) == 32
    assert stored.source_pseudonym == AuditEvent.objects.get(pk=again.pk).source_pseudonym
    assert "203.0.113.9" not in json.dumps(stored.data)
    # Outside an organization (a login attempt) the address stays: it is the platform's log.
    assert AuditEvent.objects.get(pk=elsewhere.pk).ip_address == "203.0.113.9"
    deliver_due()
    assert verify_chain().intact


def _edit(events: list[AuditEvent]) -> str:
    raw("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 99}', events[1].pk])
    return f"event {events[1].pk} of link 2 was changed (edited)"


def _delete_event(events: list[AuditEvent]) -> str:
    raw("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])
    return f"event {events[1].pk} of link 2 is missing (deleted)"


def _delete_link(events: list[AuditEvent]) -> str:
    raw("DELETE FROM audit_auditchainlink WHERE sequence = %s", [2])
    return "link 2 is missing (deleted)"


def _insert(events: list[AuditEvent]) -> str:
    raw(
        "INSERT INTO audit_auditevent (occurred_at, action, outcome, actor_public_id, "
        "target_type, target_id, user_agent, source_pseudonym, request_id, data) "
        "VALUES (%s, 'accounts.logout', 'success', '', '', '', '', '', '', '{}')",
        [events[0].occurred_at],
    )
    inserted = AuditEvent.objects.filter(link__isnull=True).get().pk
    # The trail goes on: a later event is chained after the forged one.
    with transaction.atomic():
        record("accounts.logout")
    deliver_due()
    return f"event {inserted} is not in the chain (inserted)"


def _reorder(events: list[AuditEvent]) -> str:
    for old, new in ((2, -1), (3, 2), (-1, 3)):
        raw("UPDATE audit_auditchainlink SET sequence = %s WHERE sequence = %s", [new, old])
    return "link 2 does not follow link 1 (links reordered or inserted)"


def _truncate(events: list[AuditEvent]) -> str:
    # The newest two events and their links gone, the head row set back to match: only the
    # head the SIEM received tells.
    survivor = AuditChainLink.objects.get(sequence=2)
    raw("DELETE FROM audit_auditchainlink WHERE sequence > 2", [])
    raw("DELETE FROM audit_auditevent WHERE id > %s", [events[1].pk])
    raw("UPDATE audit_auditchainhead SET sequence = 2, mac = %s", [survivor.mac])
    return "the chain ends at link 2, before the exported head 4 (truncated)"


def _two_edits(events: list[AuditEvent]) -> str:
    for event in (events[3], events[1]):
        raw("UPDATE audit_auditevent SET action = %s WHERE id = %s", ["accounts.login", event.pk])
    return f"event {events[1].pk} of link 2 was changed (edited)"


@pytest.mark.parametrize(
    "tamper", [_edit, _delete_event, _delete_link, _insert, _reorder, _truncate, _two_edits]
)
def test_the_command_names_the_first_broken_link_of_each_kind_of_tampering(chained, tamper):
    events = chained(4)
    head = AuditChainHead.objects.get()
    exported = f"{head.sequence}:{head.mac}"  # what the SIEM received
    call_command("audit", "verify", "--head", exported, stdout=io.StringIO())

    expected = tamper(events)

    out = io.StringIO()
    with pytest.raises(CommandError) as broken:
        call_command("audit", "verify", "--head", exported, "--json", stdout=out)
    assert json.loads(out.getvalue())["first_break"] == expected
    assert str(broken.value).endswith(f": {expected}.")

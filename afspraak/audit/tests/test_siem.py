"""The SIEM sink: events reach a real rsyslog over TLS, survive its restart, forge no lines."""

import json
import logging
import re
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from afspraak.audit.catalogue import ACTIONS
from afspraak.audit.context import AuditContext
from afspraak.audit.logformat import ECSFormatter, event_category, event_type
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.audit.siem import (
    SiemFileHandler,
    SiemUnavailableError,
    SyslogTlsHandler,
    SyslogTlsTransport,
    build_siem_handler,
    syslog_frame,
)
from afspraak.audit.tests.rsyslog import Rsyslog
from afspraak.audit.trail import record
from afspraak.environment import parse_log_sink
from afspraak.testing.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = logging.getLogger("afspraak.audit.events")


def use_handler(handler: logging.Handler) -> Iterator[logging.Handler]:
    """Have the audit stream go to ``handler`` only, as settings.LOGGING would configure it."""
    handler.setFormatter(ECSFormatter())
    previous = EVENTS.handlers[:]
    EVENTS.handlers[:] = [handler]
    try:
        yield handler
    finally:
        EVENTS.handlers[:] = previous
        handler.close()


@pytest.fixture
def syslog_sink(rsyslog: Rsyslog) -> Iterator[logging.Handler]:
    """The audit stream going to the test's rsyslog, built as the settings build it."""
    yield from use_handler(build_siem_handler(rsyslog.url, ca_file=str(rsyslog.tls.ca_cert)))


def received_events(lines: list[str]) -> list[dict]:
    """Parse what rsyslog wrote: ``app-name msgid message`` a line, the message ECS JSON."""
    documents = []
    for line in lines:
        app_name, msgid, message = line.split(" ", 2)
        assert (app_name, msgid) == ("afspraak", "audit")
        documents.append(json.loads(message))
    return [document for document in documents if document.get("event.kind") == "event"]


def test_committed_events_arrive_over_tls_as_ecs_json(syslog_sink, rsyslog):
    organization = OrganizationFactory.create()
    user = UserFactory.create()
    context = AuditContext(actor=user, ip_address="203.0.113.9", user_agent="Firefox/140")

    event = record("accounts.login.failed", context=context, outcome="failure")
    deliver_due()

    [document] = [d for d in received_events(rsyslog.wait_for(1)) if d["event.id"] == str(event.pk)]
    assert document["event.action"] == "accounts.login.failed"
    assert document["event.category"] == ["authentication"]
    assert document["event.type"] == ["start"]
    assert document["event.outcome"] == "failure"
    assert document["user.id"] == user.public_id
    assert document["source.ip"] == "203.0.113.9"
    assert document["user_agent.original"] == "Firefox/140"
    assert document["@timestamp"].endswith("+00:00")
    assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()
    del organization


def test_a_receiver_restart_loses_no_event(rsyslog):
    # Retry at once, not after a second: the test restarts the receiver in between.
    transport = SyslogTlsTransport(
        "127.0.0.1", rsyslog.port, ca_file=str(rsyslog.tls.ca_cert), first_backoff=0.0
    )
    for _ in use_handler(SyslogTlsHandler(transport)):
        before = [record("accounts.logout", data={"n": n}) for n in range(5)]
        deliver_due()
        rsyslog.wait_for(len(before))

        # Restarted between two writes: the sink's connection is stale, and the first
        # line written to it would vanish unless the closed connection is noticed.
        rsyslog.stop()
        rsyslog.start()
        across = [record("accounts.logout", data={"n": n}) for n in range(5, 10)]
        deliver_due()
        # A line the receiver's kernel acknowledged but rsyslog had not yet read is lost
        # when rsyslog stops (plain TCP syslog has no application acknowledgement).
        rsyslog.wait_for(len(before) + len(across))

        # Down while the outbox delivers: every line fails and stays in the outbox.
        rsyslog.stop()
        during = [record("accounts.logout", data={"n": n}) for n in range(10, 15)]
        deliver_due()
        waiting = OutboxMessage.objects.filter(
            topic="audit.siem", delivered_at__isnull=True, attempts=1
        )
        assert sorted(event for m in waiting for event, _ in m.payload["events"]) == [
            event.pk for event in during
        ]

        rsyslog.start()
        OutboxMessage.objects.update(available_at=timezone.now())  # their retry is due
        deliver_due()

        expected = {str(event.pk) for event in before + across + during}
        lines = rsyslog.wait_for(len(expected))
        assert {d["event.id"] for d in received_events(lines)} == expected
        assert not OutboxMessage.objects.filter(delivered_at__isnull=True).exists()


def test_a_forged_line_in_a_user_agent_stays_inside_one_message(syslog_sink, rsyslog):
    user = UserFactory.create()
    forged_json = json.dumps({"event.action": "accounts.login.succeeded", "user.id": "admin"})
    forged_frame = "60 <110>1 2025-01-01T00:00:00Z host afspraak 1 audit - " + forged_json
    user_agent = f"Mozilla/5.0\n{forged_json}\r\n{forged_frame}\x1b[2J\x7f\u2028end"

    event = record(
        "accounts.login.failed",
        context=AuditContext(actor=user, user_agent=user_agent),
        data={"name": f"x\n{forged_json}"},
    )
    deliver_due()
    record("accounts.logout", actor=user)
    deliver_due()

    lines = rsyslog.wait_for(2)
    documents = received_events(lines)
    assert len(lines) == len(documents) == 2
    assert documents[0]["event.id"] == str(event.pk)
    assert documents[0]["user_agent.original"] == user_agent
    assert documents[0]["afspraak.data"] == {"name": f"x\n{forged_json}"}
    assert [d["event.action"] for d in documents] == ["accounts.login.failed", "accounts.logout"]


def test_the_frame_is_counted_in_octets_so_a_newline_cannot_end_it():
    frame = syslog_frame(
        'é\n{"forged": 1}',
        severity=6,
        timestamp=timezone.now(),
        hostname="web 1\n",
        procid=7,
    )

    length, payload = frame.split(b" ", 1)
    assert int(length) == len(payload)
    assert payload.startswith(b"<110>1 ")
    assert payload.split(b" ")[2] == b"web_1_"


def test_the_file_sink_rotates_and_keeps_a_few_files(tmp_path):
    path = tmp_path / "siem" / "audit.json"
    path.parent.mkdir()
    handler = build_siem_handler(f"file:{path}", file_max_bytes=2048, file_backups=2)
    assert isinstance(handler, SiemFileHandler)
    for _ in use_handler(handler):
        events = [record("accounts.logout", data={"n": n}) for n in range(40)]
        deliver_due()

    files = sorted(p.name for p in path.parent.iterdir())
    assert files == ["audit.json", "audit.json.1", "audit.json.2"]
    for name in files:
        text = (path.parent / name).read_text()
        assert len(text.encode()) <= 2048
        assert all(json.loads(line)["event.kind"] for line in text.splitlines())
    newest = [json.loads(line) for line in path.read_text().splitlines()]
    assert newest[-1]["event.id"] == str(events[-1].pk)


def test_the_file_sink_formats_each_line_once(tmp_path, monkeypatch):
    handler = build_siem_handler(f"file:{tmp_path / 'audit.json'}", file_max_bytes=1 << 20)
    formatted: list[logging.LogRecord] = []
    original = ECSFormatter.format

    def counted(self: ECSFormatter, line: logging.LogRecord) -> str:
        formatted.append(line)
        return original(self, line)

    monkeypatch.setattr(ECSFormatter, "format", counted)
    for _ in use_handler(handler):
        record("accounts.logout", data={"n": 1})
        record("accounts.logout", data={"n": 2})
        deliver_due()

    lines = (tmp_path / "audit.json").read_text().splitlines()
    assert [json.loads(line)["afspraak.data"]["n"] for line in lines] == [1, 2]
    assert len(formatted) == 2


def test_a_sink_that_cannot_write_leaves_the_line_in_the_outbox(tmp_path):
    handler = build_siem_handler(f"file:{tmp_path / 'audit.json'}")
    assert isinstance(handler, SiemFileHandler)
    for _ in use_handler(handler):
        # A stream that refuses writes, as a full or vanished disk would; the handler closes it.
        handler.setStream(open(tmp_path / "audit.json", encoding="utf-8"))  # noqa: SIM115
        event = record("accounts.logout")
        deliver_due()

    message = OutboxMessage.objects.get(topic="audit.siem", payload__events=[[event.pk, None]])
    assert message.delivered_at is None
    assert message.attempts == 1
    assert message.last_error.startswith("SiemUnavailableError")


def test_an_unreachable_receiver_fails_fast_until_its_backoff_passes(rsyslog):
    rsyslog.stop()
    transport = SyslogTlsTransport("127.0.0.1", rsyslog.port, ca_file=str(rsyslog.tls.ca_cert))

    with pytest.raises(SiemUnavailableError, match="did not take the line"):
        transport.send(b"1 x")
    with pytest.raises(SiemUnavailableError, match="is down; next try in"):
        transport.send(b"1 x")


def test_a_receiver_with_a_certificate_we_do_not_trust_is_refused(rsyslog, tmp_path):
    transport = SyslogTlsTransport("127.0.0.1", rsyslog.port)  # the system's CAs only

    with pytest.raises(SiemUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
        transport.send(b"1 x")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("syslog://siem:514", "must be stderr, stdout, file:PATH or syslog+tls://HOST:PORT"),
        ("syslog+tls://siem", "must be stderr, stdout, file:PATH or syslog+tls://HOST:PORT"),
        ("syslog+tls://siem:70000", "port 70000 is not between 1 and 65535"),
        ("file:", "file: needs a path"),
    ],
)
def test_a_bad_sink_setting_is_refused_with_its_name(value, message):
    with pytest.raises(ImproperlyConfigured, match=f"AFSPRAAK_SIEM_SINK.*{re.escape(message)}"):
        parse_log_sink(value, name="AFSPRAAK_SIEM_SINK")


def test_a_client_certificate_without_its_key_is_refused(tmp_path):
    cert = tmp_path / "client.pem"
    cert.write_text("x")

    with pytest.raises(ImproperlyConfigured, match="set both or neither"):
        build_siem_handler("syslog+tls://siem:6514", cert_file=str(cert))
    with pytest.raises(ImproperlyConfigured, match="is not a readable file"):
        build_siem_handler("syslog+tls://siem:6514", ca_file=str(tmp_path / "missing.pem"))


def test_every_catalogued_action_has_an_ecs_category_of_its_own():
    assert {
        action: event_category(action) for action in ACTIONS if event_category(action) == ["host"]
    } == {}
    assert event_type("tenancy.member.removed") == ["deletion"]
    assert event_type("accounts.session.expired") == ["end"]
    assert event_category("tenancy.security.updated") == ["configuration"]

"""``record``: the one way to write an audit event, and its delivery to the SIEM stream.

The event and its outbox message are written in one transaction; after it commits the
event is linked into the tamper-evident chain (``afspraak.audit.chain``), which hands it
on: its ECS JSON line goes to the SIEM stream (``write_siem_lines``) and the detection
rules look at it (``afspraak.audit.detection``), so an event that was rolled back is
neither chained, logged nor detected.
"""

import logging
from typing import Any, cast

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.sql import InsertQuery
from django.utils import timezone
from psycopg.types.numeric import Int8

from afspraak.audit.catalogue import require_catalogued
from afspraak.audit.chain import CHAIN_TOPIC, SIEM_TOPIC
from afspraak.audit.context import AuditContext
from afspraak.audit.models import AuditEvent, OutboxMessage, Outcome
from afspraak.audit.outbox import dispatch_after_commit, enqueue, handles, require_topics
from afspraak.audit.pseudonyms import source_pseudonym

logger = logging.getLogger("afspraak.audit.events")

_OUTCOMES = frozenset(Outcome.values)
# Key names that announce a secret, or an e-mail address (personal data), anywhere in the data.
_FORBIDDEN_MARKERS = ("password", "secret", "token", "otp", "email", "e-mail", "e_mail")


def record(
    action: str,
    *,
    actor: Any = None,
    context: AuditContext | None = None,
    outcome: str = Outcome.SUCCESS,
    organization: Any = None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event; it goes to the SIEM log stream once its transaction commits.

    The actor is ``actor`` when given, else the context's; the context adds where the
    request came from.
    """
    require_catalogued(action)
    if outcome not in _OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    payload = dict(data or {})
    leaked = sorted(set(_forbidden_keys(payload)))
    if leaked:
        raise ValueError(
            f"audit data must not hold secrets or e-mail addresses: {', '.join(leaked)}"
        )
    context = context or AuditContext()
    if actor is None:
        actor = context.actor
    user = actor if getattr(actor, "is_authenticated", False) else None
    # The row keeps bare ids, with no relation to check their model: a wrong object
    # would file the event under another user or tenant.
    _require_model(user, settings.AUTH_USER_MODEL, "actor")
    _require_model(organization, "tenancy.Organization", "organization")
    ip_address, user_agent, pseudonym = context.ip_address, context.user_agent, ""
    if user is None and organization is not None and (ip_address or user_agent):
        # An invitee or visitor of the organization: their source, not their data.
        pseudonym = source_pseudonym(organization, ip_address, user_agent)
        ip_address, user_agent = None, ""
    row = {
        "occurred_at": timezone.now(),
        "action": action,
        "outcome": outcome,
        "actor_id": getattr(user, "pk", None),
        "actor_public_id": getattr(user, "public_id", ""),
        "organization_id": getattr(organization, "pk", None),
        "target_type": target._meta.label_lower if target is not None else "",
        "target_id": str(getattr(target, "public_id", "") or getattr(target, "pk", ""))
        if target
        else "",
        "ip_address": ip_address,
        "user_agent": user_agent,
        "source_pseudonym": pseudonym,
        "request_id": context.request_id,
        "data": payload,
    }
    # Built from its column values in field order, as Django builds a row it reads, and
    # sent as they are but for two (below): the keyword path (a descriptor per relation)
    # and every field's conversion were a tenth of an append's CPU in the writer. The
    # stubs type a model's construction by keyword only, hence the cast.
    event: AuditEvent = cast(Any, AuditEvent)(None, *(row[c] for c in _EVENT_COLUMNS))
    organization_public_id = getattr(organization, "public_id", None)
    # The connection itself, not Django's per-thread proxy to it: the proxy's lookup on
    # every attribute read was a measurable part of an append's CPU.
    database = connections[DEFAULT_DB_ALIAS]
    if database.vendor == "postgresql":
        _insert_with_message(event, organization_public_id, database)
        return event
    # No savepoint: a failure here must roll back the caller's change with it (an
    # unrecorded change is what the trail exists to prevent), and a savepoint costs two
    # round trips on every event.
    with transaction.atomic(savepoint=False):
        event.save()
        enqueue(CHAIN_TOPIC, {"event": event.pk, "organization": organization_public_id})
    return event


# The event and its message in one statement (PostgreSQL's data-modifying CTE): one round
# trip, atomic by itself, or inside the caller's transaction. The organization's public id
# travels with the event to its SIEM line (``chain._hand_on``).
_MESSAGE_SQL = """
WITH event AS ({insert} RETURNING "id"),
message AS (
    INSERT INTO "audit_outboxmessage"
        ("topic", "payload", "created_at", "available_at", "attempts", "last_error")
    SELECT %s, jsonb_build_object('event', event.id, 'organization', %s::text), %s, %s, 0, ''
    FROM event
)
SELECT id FROM event
"""
_EVENT_FIELDS = [f for f in AuditEvent._meta.local_concrete_fields if not f.primary_key]
_EVENT_COLUMNS = [field.attname for field in _EVENT_FIELDS]
# The statement is the same for every event: built once per process, not compiled by the
# ORM on every append (that was a third of an append's CPU in the writer).
_insert_statement: list[str] = []


def _insert_sql(database: BaseDatabaseWrapper) -> str:
    if not _insert_statement:
        query = InsertQuery(AuditEvent)
        query.insert_values(_EVENT_FIELDS, [AuditEvent()])
        [(insert, _)] = query.get_compiler(connection=database).as_sql()
        _insert_statement.append(_MESSAGE_SQL.format(insert=insert))
    return _insert_statement[0]


def _bigint(value: int | None) -> Int8 | None:
    return None if value is None else Int8(value)


def _insert_with_message(
    event: AuditEvent, organization_public_id: str | None, database: BaseDatabaseWrapper
) -> None:
    """Insert ``event`` and its message to the chain's sequencer in one statement."""
    require_topics([CHAIN_TOPIC])
    now = timezone.now()
    # The values go as the model holds them, but for the address and the data, which
    # psycopg cannot take as they are, and the ids.
    adapted = {
        "ip_address": database.ops.adapt_ipaddressfield_value(event.ip_address),
        "data": database.ops.adapt_json_value(event.data, None),
        # Always sent as bigint: psycopg sends a small int as int2 and a larger as int4,
        # and each set of types would be a prepared statement of its own.
        "actor_id": _bigint(event.actor_id),
        "organization_id": _bigint(event.organization_id),
    }
    params = [
        *(adapted[c] if c in adapted else getattr(event, c) for c in _EVENT_COLUMNS),
        *(CHAIN_TOPIC, organization_public_id, now, now),
    ]
    # As Django's own cursor() does: a persistent connection to a primary that died
    # (failover) is replaced before the request's first statement, this one included.
    database.close_if_health_check_failed()
    database.ensure_connection()
    # Bound by the server, not quoted into the text by the client as Django's cursors do: the
    # parameters travel apart from one unchanging statement. Django's wrapper keeps query
    # logging, execute wrappers, the broken-transaction check and error translation (its
    # stubs type the argument as a wrapper; Django passes the driver's cursor, as here).
    driver = database.connection
    raw = cast(Any, psycopg.Cursor(driver))
    wrap = database.make_debug_cursor if database.queries_logged else database.make_cursor
    # Prepared: parsed and planned once per connection and shape (an actor, an
    # organization and an address each present or not: at most eight statements), not on
    # every event (that was half of an append's database CPU). Django opens connections
    # with psycopg's preparing off (a threshold of None); this statement alone turns it on
    # while it runs, so psycopg neither counts nor prepares anything else, nor deallocates
    # on every rollback. A transaction-pooling PgBouncer in front would need 1.21 or later
    # with max_prepared_statements (deploy/patroni/README.md: the deployment has none).
    # Not while Django logs queries (DEBUG, a test counting them): its log reads the
    # statement's text back from psycopg, which has none for a prepared execution.
    driver.prepare_threshold = None if database.queries_logged else 0
    try:
        with wrap(raw) as cursor:
            cursor.execute(_insert_sql(database), params)
            (event.pk,) = cursor.fetchone()
    finally:
        driver.prepare_threshold = None
    event._state.adding = False
    event._state.db = database.alias
    dispatch_after_commit()


@handles(SIEM_TOPIC, batch=True)
def write_siem_lines(messages: list[OutboxMessage]) -> None:
    """Write each chained event as one ECS JSON line to the log stream the SIEM reads."""
    chained = [pair for message in messages for pair in message.payload["events"]]
    events = AuditEvent.objects.in_bulk([event_id for event_id, _ in chained])
    for event_id, organization_public_id in chained:
        event = events.get(event_id)
        if event is None:
            # The chain linked it, so it committed; a missing one means the table was
            # tampered with, which the operator must hear about.
            raise LookupError(f"audit event {event_id} is gone")
        logger.info(
            event.action,
            extra={"audit_event": event, "organization_public_id": organization_public_id},
        )


def _require_model(instance: Any, label: str, role: str) -> None:
    """Refuse an ``instance`` (when given) that is not a saved row of model ``label``."""
    if instance is None:
        return
    meta = getattr(instance, "_meta", None)
    if meta is None or meta.label_lower != label.lower() or instance.pk is None:
        raise TypeError(f"the audit event's {role} must be a saved {label}, not {instance!r}")


def _forbidden_keys(value: Any) -> list[str]:
    """Return the names in ``value``, nested dicts and lists included, that announce a secret."""
    if isinstance(value, dict):
        found = [str(k) for k in value if any(m in str(k).lower() for m in _FORBIDDEN_MARKERS)]
        return found + [name for item in value.values() for name in _forbidden_keys(item)]
    if isinstance(value, list | tuple):
        return [name for item in value for name in _forbidden_keys(item)]
    return []

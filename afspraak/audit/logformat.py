"""Formats audit events as Elastic Common Schema (ECS) JSON, one object a line."""

import json
import logging
from datetime import UTC, datetime


class ECSFormatter(logging.Formatter):
    """Render a log record, and the audit event it carries, as one ECS JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "@timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "log.level": record.levelname.lower(),
            "log.logger": record.name,
            "message": record.getMessage(),
            "ecs.version": "8.11.0",
        }
        head = getattr(record, "audit_chain_head", None)
        if head is not None:
            document.update(
                {
                    "event.kind": "state",
                    "event.action": "audit.chain.head",
                    "afspraak.chain": head,
                }
            )
        event = getattr(record, "audit_event", None)
        if event is not None:
            document.update(
                {
                    "@timestamp": event.occurred_at.isoformat(),
                    "event.kind": "event",
                    "event.action": event.action,
                    "event.outcome": event.outcome,
                    "event.id": str(event.pk),
                    "user.id": event.actor_public_id or None,
                    "organization.id": getattr(record, "organization_public_id", None),
                    "source.ip": event.ip_address,
                    "afspraak.source_pseudonym": event.source_pseudonym or None,
                    "user_agent.original": event.user_agent or None,
                    "http.request.id": event.request_id or None,
                    "afspraak.target": {"type": event.target_type, "id": event.target_id}
                    if event.target_type
                    else None,
                    "afspraak.data": event.data or None,
                }
            )
        return json.dumps({k: v for k, v in document.items() if v is not None}, default=str)

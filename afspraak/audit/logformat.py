"""Formats audit events as Elastic Common Schema (ECS) JSON, one object a line.

``json.dumps`` escapes every control character (and, with ``ensure_ascii``, everything
outside ASCII), so a newline or a forged JSON object in a user agent or in event data
stays inside its string: one event is always exactly one line.
"""

import json
import logging
from datetime import UTC, datetime

# ECS categorisation of each action, by its longest matching dotted prefix.
_CATEGORIES: dict[str, str] = {
    "accounts": "iam",
    "accounts.login": "authentication",
    "accounts.logout": "authentication",
    "accounts.reauthenticated": "authentication",
    "accounts.mfa.used": "authentication",
    "accounts.mfa.failed": "authentication",
    "accounts.mfa.recovery_code_used": "authentication",
    "accounts.session": "session",
    "crypto": "configuration",
    "tenancy": "iam",
    "tenancy.security": "configuration",
    "tenancy.api_token": "iam",
    "tenancy.api_token.refused": "authentication",
    "tenancy.offboarding.sessions_ended": "session",
    "scheduling": "configuration",
    "bookings": "database",
    "backups": "database",
    "compliance": "iam",
    "posture": "configuration",
    "audit.alert": "intrusion_detection",
    "audit.incident": "intrusion_detection",
    "security.console": "web",
    "security.containment": "session",
    "security.member": "iam",
    "security.keys": "configuration",
    "tenancy.audit_log": "database",
}
_TYPES_BY_LAST_WORD: dict[str, list[str]] = {
    "signed_up": ["user", "creation"],
    "created": ["creation"],
    "added": ["creation"],
    "deleted": ["deletion"],
    "removed": ["deletion"],
    "revoked": ["deletion"],
    "left": ["deletion"],
    "denied": ["denied"],
    "refused": ["denied"],
}
_AUTHENTICATION_TYPES: dict[str, list[str]] = {
    "accounts.logout": ["end"],
    "accounts.login.succeeded": ["start"],
    "accounts.login.failed": ["start"],
}


def event_category(action: str) -> list[str]:
    """Return the ECS ``event.category`` of an audit action code."""
    parts = action.split(".")
    for length in range(len(parts), 0, -1):
        category = _CATEGORIES.get(".".join(parts[:length]))
        if category is not None:
            return [category]
    return ["host"]


def event_type(action: str) -> list[str]:
    """Return the ECS ``event.type`` of an audit action code."""
    category = event_category(action)[0]
    if category in ("authentication", "session"):
        return _AUTHENTICATION_TYPES.get(action, ["end"] if category == "session" else ["info"])
    return _TYPES_BY_LAST_WORD.get(action.rsplit(".", 1)[-1], ["change"])


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
                    "event.category": ["database"],
                    "event.type": ["info"],
                    "event.action": "audit.chain.head",
                    "afspraak.chain": head,
                }
            )
        event = getattr(record, "audit_event", None)
        if event is not None:
            document.update(
                {
                    "@timestamp": event.occurred_at.astimezone(UTC).isoformat(),
                    "event.kind": "event",
                    "event.category": event_category(event.action),
                    "event.type": event_type(event.action),
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
        return json.dumps(
            {k: v for k, v in document.items() if v is not None}, default=str, ensure_ascii=True
        )

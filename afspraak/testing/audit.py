"""Reading and asserting the audit trail in tests (plain ``raise AssertionError``: this
module is a plugin, outside pytest's assertion rewriting).

``assert_audited`` and ``assert_not_audited`` refuse an action code that is not in the
catalogue, so a misspelt code cannot make a test pass by matching nothing.
"""

from typing import Any

from django.core.exceptions import FieldDoesNotExist

from afspraak.audit.catalogue import ACTIONS
from afspraak.audit.models import AuditEvent


def events(action: str, **filters: Any) -> list[AuditEvent]:
    """Return the audit events with ``action`` (and ``filters``), oldest first."""
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("occurred_at", "id"))


def only_event(action: str, **filters: Any) -> AuditEvent:
    """Return the one audit event with ``action``; fail if there is not exactly one."""
    found = events(action, **filters)
    if len(found) != 1:
        raise AssertionError(f"expected one {action} event, found {len(found)}")
    return found[0]


def assert_audited(action: str, **fields: Any) -> AuditEvent:
    """Return the one ``action`` event whose ``fields`` match; fail unless there is exactly one.

    A field compares by equality (``actor=user``, ``outcome="denied"``), except ``data``,
    which needs only the given keys to match, so a test names what it is about.
    """
    _require_known(action, fields)
    candidates = events(action)
    matching = [event for event in candidates if _matches(event, fields)]
    if len(matching) != 1:
        raise AssertionError(
            f"expected one {action} event with {fields!r}, found {len(matching)}; "
            f"{action} events recorded: {[_describe(event, fields) for event in candidates]}"
        )
    return matching[0]


def assert_not_audited(action: str, **fields: Any) -> None:
    """Fail if any ``action`` event (with ``fields``, as in ``assert_audited``) was recorded."""
    _require_known(action, fields)
    found = [event for event in events(action) if _matches(event, fields)]
    if found:
        raise AssertionError(f"expected no {action} event with {fields!r}, found {len(found)}")


def _require_known(action: str, fields: dict[str, Any]) -> None:
    if action not in ACTIONS:
        raise AssertionError(f"{action!r} is not an audit action of audit/catalogue.py")
    for name in fields:
        _field_name(name)


def _matches(event: AuditEvent, fields: dict[str, Any]) -> bool:
    for name, expected in fields.items():
        if name == "data":
            if any(event.data.get(key, object()) != value for key, value in expected.items()):
                return False
        elif _field(event, name) != expected:
            return False
    return True


def _field_name(name: str) -> str:
    try:
        return AuditEvent._meta.get_field(name).name
    except FieldDoesNotExist as error:
        raise AssertionError(f"AuditEvent has no field {name!r}") from error


def _field(event: AuditEvent, name: str) -> Any:
    return getattr(event, _field_name(name))


def _describe(event: AuditEvent, fields: dict[str, Any]) -> dict[str, Any]:
    return {name: _field(event, name) for name in fields}

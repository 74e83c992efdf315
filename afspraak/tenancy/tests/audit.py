"""Moved to ``afspraak.testing.audit``; kept so existing imports work until they switch."""

from afspraak.testing.audit import events, only_event

__all__ = ["events", "only_event"]

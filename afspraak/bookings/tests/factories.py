"""Moved to ``afspraak.testing.factories``; kept so existing imports work until they switch."""

from afspraak.testing.factories import book, invitee_details

__all__ = ["book", "invitee_details"]

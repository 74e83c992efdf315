"""Moved to ``afspraak.testing``; kept so existing imports work until they switch."""

from afspraak.testing.access import (
    host_of,
    invitee_access,
    member_of,
    system_access,
    visitor_access,
)
from afspraak.testing.factories import book, invitee_details

__all__ = [
    "book",
    "host_of",
    "invitee_access",
    "invitee_details",
    "member_of",
    "system_access",
    "visitor_access",
]

"""Moved to ``afspraak.testing.factories``; kept so existing imports work until they switch."""

from afspraak.testing.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

__all__ = ["DEFAULT_PASSWORD", "StaffUserFactory", "UserFactory"]

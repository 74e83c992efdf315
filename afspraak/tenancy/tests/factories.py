"""Moved to ``afspraak.testing.factories``; kept so existing imports work until they switch."""

from afspraak.testing.factories import InvitationFactory, MembershipFactory, OrganizationFactory

__all__ = ["InvitationFactory", "MembershipFactory", "OrganizationFactory"]

"""The people of most tests: organization A with one member of each role, and an outsider
who owns organization B (healthchecks' Alice, Bob and Charlie, with our four roles)."""

from dataclasses import dataclass

import pytest

from afspraak.accounts.models import User
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Role
from afspraak.testing.factories import MembershipFactory, OrganizationFactory

OUTSIDER = "outsider"


@dataclass
class Tenants:
    a: Organization
    b: Organization
    owner: Membership
    admin: Membership
    member: Membership
    auditor: Membership
    outsider: Membership  # owner of B, no place in A

    def of_role(self, role: str) -> Membership:
        """Return A's membership of ``role``, or B's owner for ``"outsider"``."""
        if role == OUTSIDER:
            return self.outsider
        return {
            Role.OWNER: self.owner,
            Role.ADMIN: self.admin,
            Role.MEMBER: self.member,
            Role.AUDITOR: self.auditor,
        }[Role(role)]

    @property
    def users(self) -> list[User]:
        return [m.user for m in (self.owner, self.admin, self.member, self.auditor, self.outsider)]


def create_tenants() -> Tenants:
    """Create organizations A ("alpha") and B ("beta") and their five people."""
    a = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    b = OrganizationFactory.create(name="Beta Practice", slug="beta")

    def join(organization: Organization, role: str, email: str) -> Membership:
        return MembershipFactory.create(organization=organization, role=role, user__email=email)

    return Tenants(
        a=a,
        b=b,
        owner=join(a, Role.OWNER, "owner@a.test"),
        admin=join(a, Role.ADMIN, "admin@a.test"),
        member=join(a, Role.MEMBER, "member@a.test"),
        auditor=join(a, Role.AUDITOR, "audit@a.test"),
        outsider=join(b, Role.OWNER, "owner@b.test"),
    )


@pytest.fixture
def tenants(db: None) -> Tenants:
    """Organization A with an owner, admin, member and auditor; B's owner as the outsider."""
    return create_tenants()

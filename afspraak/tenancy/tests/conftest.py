"""People for the tenancy tests: organization A with one member of each role, and an
outsider who owns organization B."""

from dataclasses import dataclass

import pytest

from afspraak.accounts.models import User
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Role
from afspraak.tenancy.tests.factories import MembershipFactory, OrganizationFactory


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
        return {
            Role.OWNER: self.owner,
            Role.ADMIN: self.admin,
            Role.MEMBER: self.member,
            Role.AUDITOR: self.auditor,
        }[Role(role)]

    @property
    def users(self) -> list[User]:
        return [m.user for m in (self.owner, self.admin, self.member, self.auditor, self.outsider)]


@pytest.fixture
def tenants(db) -> Tenants:
    a = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    b = OrganizationFactory.create(name="Beta Practice", slug="beta")
    return Tenants(
        a=a,
        b=b,
        owner=MembershipFactory.create(organization=a, role=Role.OWNER, user__email="owner@a.test"),
        admin=MembershipFactory.create(organization=a, role=Role.ADMIN, user__email="admin@a.test"),
        member=MembershipFactory.create(
            organization=a, role=Role.MEMBER, user__email="member@a.test"
        ),
        auditor=MembershipFactory.create(
            organization=a, role=Role.AUDITOR, user__email="audit@a.test"
        ),
        outsider=MembershipFactory.create(
            organization=b, role=Role.OWNER, user__email="owner@b.test"
        ),
    )

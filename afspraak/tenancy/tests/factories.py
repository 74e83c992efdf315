"""Factories for organizations and memberships."""

import factory
from django_scopes import scope

from afspraak.accounts.tests.factories import UserFactory
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Role


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with scope(organization=kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)

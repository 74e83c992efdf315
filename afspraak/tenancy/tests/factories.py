"""Factories for organizations, memberships and invitations."""

import secrets

import factory
from django.utils import timezone

from afspraak.accounts.tests.factories import UserFactory
from afspraak.crypto.keysets import create_organization_keysets
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.invitations import INVITATION_LIFETIME, hash_token
from afspraak.tenancy.models import Invitation, Membership, Organization
from afspraak.tenancy.roles import Role


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Practice {n}")
    slug = factory.Sequence(lambda n: f"practice-{n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        organization = super()._create(model_class, *args, **kwargs)
        # The keysets table is a tenant table: on PostgreSQL its rows go in only inside the
        # organization's context.
        with organization_context(organization):
            create_organization_keysets(organization)
        return organization


class MembershipFactory(factory.django.DjangoModelFactory[Membership]):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Inside the organization's context, as the application writes: on PostgreSQL the
        # row-level-security policy accepts the row only there.
        with organization_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)


class InvitationFactory(factory.django.DjangoModelFactory[Invitation]):
    """A pending invitation (its token is random and not kept: use ``invite_member`` for a link)."""

    class Meta:
        model = Invitation
        exclude = ("token",)

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.test")
    role = Role.MEMBER
    token = factory.LazyAttribute(
        lambda o: f"{o.organization.public_id}.{secrets.token_urlsafe(32)}"
    )
    token_hash = factory.LazyAttribute(lambda o: hash_token(o.token))
    invited_by = None
    expires_at = factory.LazyFunction(lambda: timezone.now() + INVITATION_LIFETIME)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with organization_context(kwargs["organization"]):
            return super()._create(model_class, *args, **kwargs)

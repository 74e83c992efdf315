"""Organizations (the tenants) and who belongs to them."""

from functools import partial
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from afspraak.publicid import new_public_id
from afspraak.tenancy.roles import Role


class Organization(models.Model):
    """A customer: every piece of customer data belongs to exactly one organization."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "org")
    )
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    require_mfa = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in an organization, with exactly one role."""

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "mem")
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["Membership"]] = ScopedManager(organization="organization")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="tenancy_membership_one_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.organization_id} as {self.role}"

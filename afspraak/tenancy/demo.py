"""Demo data for the embedded mode: one organization and its owner, so a new user can log in."""

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from allauth.account.models import EmailAddress
from django.db import transaction

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.organizations import create_organization
from afspraak.tenancy.roles import Role

DEMO_ORGANIZATION_SLUG = "demo"
DEMO_OWNER_EMAIL = "owner@demo.afspraak.test"
_WORDS = (
    "amber", "birch", "canal", "dune", "ember", "fjord", "gable", "harbor", "inlet", "juniper",
    "kettle", "lantern", "meadow", "nectar", "orchard", "pebble", "quarry", "ripple", "saffron",
    "tulip", "umber", "velvet", "willow", "yarrow", "zephyr", "polder", "windmill", "bicycle",
)  # fmt: skip


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    created: bool


def create_demo_organization(credentials_file: Path) -> DemoLogin:
    """Create the demo organization and its owner unless they exist; return how to log in."""
    with transaction.atomic():
        organization = Organization.objects.filter(slug=DEMO_ORGANIZATION_SLUG).first()
        if organization is not None and credentials_file.exists():
            email, password = credentials_file.read_text(encoding="utf-8").split("\n")[:2]
            return DemoLogin(email=email, password=password, created=False)
        password = "-".join(secrets.choice(_WORDS) for _ in range(5))
        owner = User.objects.filter(email=DEMO_OWNER_EMAIL).first()
        if owner is None:
            owner = User.objects.create_user(DEMO_OWNER_EMAIL, password, full_name="Demo Owner")
        else:
            owner.set_password(password)
            owner.save()
        EmailAddress.objects.update_or_create(
            user=owner, email=DEMO_OWNER_EMAIL, defaults={"verified": True, "primary": True}
        )
        if organization is None:
            create_organization(
                AuditContext.system(owner), name="Demo Clinic", slug=DEMO_ORGANIZATION_SLUG
            )
        else:
            # The organization outlived its login file: give its owner a new password.
            with organization_context(organization, user=owner):
                Membership.objects.get_or_create(
                    organization=organization, user=owner, defaults={"role": Role.OWNER}
                )
                record(
                    "tenancy.organization.demo_owner_reset",
                    actor=None,
                    organization=organization,
                    target=owner,
                )
    credentials_file.parent.mkdir(parents=True, exist_ok=True)
    credentials_file.unlink(missing_ok=True)
    descriptor = os.open(credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"{DEMO_OWNER_EMAIL}\n{password}\n")
    return DemoLogin(email=DEMO_OWNER_EMAIL, password=password, created=True)

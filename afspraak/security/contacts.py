"""Who hears of an organization's security alerts: its owners and admins.

The alerts live in the audit layer, which cannot read memberships; this module hands it
the lookup when the app starts (``provide_organization_contacts``).
"""

from afspraak.audit.alerts import provide_organization_contacts
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Role


def organization_security_contacts(organization_public_id: str) -> list[str]:
    """Return the e-mail addresses of the organization's active owners and admins."""
    organization = Organization.objects.filter(public_id=organization_public_id).first()
    if organization is None:
        # Deleted since the alert was raised: nobody is left to tell but the operator.
        return []
    with organization_context(organization):
        return sorted(
            Membership.objects.filter(
                role__in=[Role.OWNER, Role.ADMIN], user__is_active=True
            ).values_list("user__email", flat=True)
        )


provide_organization_contacts(organization_security_contacts)

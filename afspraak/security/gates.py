"""The suspension check: a member suspended during an incident is refused everything.

It is an admission check (``register_admission_check``), not a gate: it refuses every
page and API call of the organization, the overview and others that name no permission
included, and every ``require`` of a domain function.
"""

from afspraak.security.models import MemberSuspension
from afspraak.tenancy.access import Access, ActorKind

SUSPENDED = "suspended"
REFUSAL_MESSAGES = {
    SUSPENDED: "Your access to this organization is suspended while a security incident "
    "is looked into. Contact its owners.",
}
# Looked up once per Access (one request, call or job) and kept on its membership row.
_CACHE_ATTRIBUTE = "_security_suspended"


def is_suspended(access: Access) -> bool:
    """Tell whether the access's member is suspended in its organization."""
    membership = access.membership
    if membership is None:
        return False
    cached = getattr(membership, _CACHE_ATTRIBUTE, None)
    if cached is None:
        cached = MemberSuspension.objects.filter(
            organization_id=membership.organization_id,
            user_id=membership.user_id,
            lifted_at__isnull=True,
        ).exists()
        setattr(membership, _CACHE_ATTRIBUTE, cached)
    return bool(cached)


def suspension_check(access: Access) -> str | None:
    """Refuse a member whose suspension has not been lifted, whatever they ask."""
    if access.kind != ActorKind.MEMBER:
        return None
    return SUSPENDED if is_suspended(access) else None

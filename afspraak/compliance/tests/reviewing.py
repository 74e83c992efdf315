"""Access-review helpers of the compliance tests: a security reviewer and an open campaign."""

from typing import Any

from django.contrib.auth.models import Permission

from afspraak.audit.context import AuditContext
from afspraak.compliance.models import ReviewCampaign
from afspraak.compliance.reviews import start_review_campaign
from afspraak.compliance.tests.staffing import staff_member


def make_security_reviewer(user: Any) -> Any:
    """Give ``user`` the security reviewer's permission; return them fresh from the database."""
    user.user_permissions.add(Permission.objects.get(codename="review_security"))
    return type(user).objects.get(pk=user.pk)


def security_reviewer() -> Any:
    """Create a staff member in good standing who is a security reviewer."""
    return make_security_reviewer(staff_member())


def campaign() -> ReviewCampaign:
    """Open an access review of everything there is now."""
    return start_review_campaign(AuditContext.system())

"""A user's profile: the name others see on booking pages, e-mails and member lists."""

from django.db import transaction

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record


def update_profile(user: User, *, full_name: str, context: AuditContext) -> bool:
    """Change the user's own name; record it and tell whether anything changed."""
    if full_name == user.full_name:
        return False
    with transaction.atomic():
        user.full_name = full_name
        user.full_clean(validate_unique=False, exclude=["password"])
        user.save(update_fields=["full_name"])
        # Only which field changed: the name itself is personal data.
        record(
            "accounts.profile.updated",
            actor=user,
            target=user,
            context=context,
            data={"fields": ["full_name"]},
        )
    return True

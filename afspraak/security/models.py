"""What incident containment leaves behind: a member suspended from one organization."""

from functools import partial
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone

from afspraak.publicid import new_public_id


class MemberSuspension(models.Model):
    """A member refused every action in one organization until a reviewer lifts it.

    Set from an incident (``afspraak.security.containment``); ``afspraak.security.gates``
    refuses the member's ``Access`` while ``lifted_at`` is empty. The operator's record,
    outside the organization's rows, like the incident it belongs to.
    """

    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "sus")
    )
    organization = models.ForeignKey(
        "tenancy.Organization", on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    incident = models.ForeignKey(
        "audit.Incident", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    suspended_at = models.DateTimeField(default=timezone.now)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "user"],
                condition=models.Q(lifted_at__isnull=True),
                name="security_one_active_suspension",
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} ({'lifted' if self.lifted_at else 'active'})"

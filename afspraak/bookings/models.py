"""Invitees: the people who book meetings. Their personal data is stored only encrypted (D1)."""

from functools import partial
from typing import ClassVar

from django.db import models
from django.utils import timezone
from django_scopes import ScopedManager

from afspraak.crypto.fields import (
    BlindIndexField,
    EncryptedEmailField,
    EncryptedJSONField,
    EncryptedModel,
    EncryptedTextField,
    blind_index_of,
)
from afspraak.publicid import new_public_id
from afspraak.tenancy.models import Organization


class Invitee(EncryptedModel):
    """Someone who booked with an organization: name, e-mail, phone, notes and answers."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitees"
    )
    public_id = models.CharField(
        max_length=32, unique=True, editable=False, default=partial(new_public_id, "inv")
    )
    name = EncryptedTextField(max_length=200)
    email = EncryptedEmailField()
    email_index = BlindIndexField(source="email", normalizer="email")
    phone = EncryptedTextField(max_length=40, blank=True)
    notes = EncryptedTextField(max_length=5000, blank=True)
    answers = EncryptedJSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects: ClassVar[models.Manager["Invitee"]] = ScopedManager(organization="organization")

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["organization", "email_index"], name="bookings_invitee_one_per_email"
            )
        ]


def find_invitee_by_email(organization: Organization, email: str) -> Invitee | None:
    """Return the organization's invitee with this e-mail address (any case, trimmed), if any."""
    token = blind_index_of(Invitee, "email_index").index_for(organization.pk, email)
    if token is None:
        return None
    return Invitee.objects.filter(organization=organization, email_index=token).first()

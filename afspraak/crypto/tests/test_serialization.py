"""Serializers (``dumpdata``) refuse encrypted fields instead of writing their plaintext."""

import io

import pytest
from django.core import serializers
from django.core.management import call_command
from django.core.management.base import CommandError

from afspraak.bookings.models import Invitee
from afspraak.crypto.fields import SerializationRefusedError
from afspraak.crypto.tests.records import make_invitation, make_invitee
from afspraak.tenancy.context import organization_context

pytestmark = pytest.mark.django_db

MARKER = "Zx7-serialization-marker"


@pytest.mark.parametrize("format_", ["json", "jsonl", "xml", "python", "yaml"])
def test_every_serializer_refuses_an_encrypted_field(org, format_):
    invitee = make_invitee(org, name=MARKER, email="marker@example.test")
    out = io.StringIO()

    with organization_context(org):
        loaded = Invitee.objects.get(pk=invitee.pk)
        with pytest.raises(
            SerializationRefusedError, match=r"bookings\.Invitee is encrypted \(answers, email"
        ):
            serializers.serialize(format_, [loaded], stream=out)

    assert MARKER not in out.getvalue()


def test_dumpdata_of_an_encrypted_model_fails_with_a_clear_message(org):
    make_invitee(org, notes=MARKER)
    out = io.StringIO()

    # Inside the organization's context, as an operator's dump of one tenant runs.
    with organization_context(org), pytest.raises(CommandError, match=r"--exclude bookings\.Inv"):
        call_command("dumpdata", "bookings.Invitee", stdout=out)

    assert MARKER not in out.getvalue()


def test_dumpdata_leaving_the_encrypted_models_out_works(org):
    make_invitation(org, "marker@example.test")
    out = io.StringIO()

    with organization_context(org):
        call_command("dumpdata", "tenancy", "--exclude", "tenancy.Invitation", stdout=out)

    assert '"slug": "alpha"' in out.getvalue()
    assert "marker@example.test" not in out.getvalue()

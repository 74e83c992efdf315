"""Blind indexes: equality lookups on encrypted e-mail addresses, per organization."""

import hashlib

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from afspraak.bookings.models import Invitee, find_invitee_by_email
from afspraak.crypto.fields import PlaintextRefusedError, blind_index_of
from afspraak.crypto.tests.records import make_invitee
from afspraak.tenancy.context import organization_context

pytestmark = pytest.mark.django_db


def stored_index(invitee: Invitee) -> str:
    with organization_context(invitee.organization), connection.cursor() as cursor:
        cursor.execute("SELECT email_index FROM bookings_invitee WHERE id = %s", [invitee.pk])
        return cursor.fetchone()[0]


def test_lookup_finds_the_right_invitee(org):
    make_invitee(org, name="Anna", email="anna@example.test")
    bert = make_invitee(org, name="Bert", email="bert@example.test")
    make_invitee(org, name="Carla", email="carla@example.test")

    with organization_context(org):
        found = find_invitee_by_email(org, "bert@example.test")

        assert found is not None
        assert found.pk == bert.pk
        assert found.name == "Bert"


def test_lookup_ignores_case_and_surrounding_spaces(org):
    anna = make_invitee(org, email="Anna.de.Vries@Example.TEST")

    with organization_context(org):
        found = find_invitee_by_email(org, "  anna.DE.vries@example.test\t")

    assert found is not None
    assert found.pk == anna.pk


def test_lookup_of_an_unknown_or_blank_address_finds_nothing(org):
    make_invitee(org, email="anna@example.test")

    with organization_context(org):
        assert find_invitee_by_email(org, "nobody@example.test") is None
        assert find_invitee_by_email(org, "   ") is None


def test_same_address_gives_different_indexes_in_different_organizations(org, other_org):
    ours = make_invitee(org, email="shared@example.test")
    theirs = make_invitee(other_org, email="shared@example.test")

    assert stored_index(ours) != stored_index(theirs)
    with organization_context(other_org):
        found = find_invitee_by_email(other_org, "shared@example.test")
    assert found is not None
    assert found.pk == theirs.pk


def test_lookup_in_one_organization_never_finds_anothers_invitee(org, other_org):
    make_invitee(org, email="only-ours@example.test")

    with organization_context(other_org):
        assert find_invitee_by_email(other_org, "only-ours@example.test") is None


def test_index_is_a_keyed_hash_not_the_address(org):
    invitee = make_invitee(org, email="anna@example.test")

    index = stored_index(invitee)
    assert len(index) == 64
    assert int(index, 16) >= 0
    assert "anna" not in index
    assert index != hashlib.sha256(b"anna@example.test").hexdigest()


def test_changing_the_address_updates_the_index(org):
    invitee = make_invitee(org, email="old@example.test")
    invitee.email = "new@example.test"
    with organization_context(org):
        invitee.save()

        found = find_invitee_by_email(org, "new@example.test")
        assert found is not None
        assert found.pk == invitee.pk
        assert find_invitee_by_email(org, "old@example.test") is None


def test_a_partial_save_of_the_address_updates_the_index(org):
    invitee = make_invitee(org, email="old@example.test")
    invitee.email = "new@example.test"
    # Named as callers name it; django-stubs would flag the literal, as email has no column.
    partial: list[str] = ["email"]
    with organization_context(org):
        invitee.save(update_fields=partial)

        found = find_invitee_by_email(org, "new@example.test")
        assert found is not None
        assert found.pk == invitee.pk


def test_one_invitee_per_address_per_organization(org):
    make_invitee(org, email="anna@example.test")

    with pytest.raises(IntegrityError), transaction.atomic():
        make_invitee(org, email=" ANNA@example.test")


def test_validation_reports_a_duplicate_address_before_saving(org):
    make_invitee(org, email="anna@example.test")
    duplicate = Invitee(organization=org, name="Anna again", email="Anna@Example.test")

    with organization_context(org), pytest.raises(ValidationError):
        duplicate.full_clean()


def test_lookup_with_a_plain_address_is_refused(org):
    with organization_context(org), pytest.raises(PlaintextRefusedError):
        list(Invitee.objects.filter(email_index="anna@example.test"))


def test_index_for_matches_what_a_save_stores(org):
    invitee = make_invitee(org, email="anna@example.test")

    with organization_context(org):
        index = blind_index_of(Invitee, "email_index").index_for(org.pk, "ANNA@example.test ")

    assert index == stored_index(invitee)

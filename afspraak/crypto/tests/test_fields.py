"""Encrypted fields: values round-trip, are stored only as bound ciphertext, and fail closed."""

import base64

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import transaction

from afspraak.audit.models import AuditEvent
from afspraak.bookings.models import Invitee
from afspraak.crypto.ciphertext import ciphertext_bytes, field_associated_data, key_id_of
from afspraak.crypto.errors import DecryptionError, report_failure
from afspraak.crypto.fields import EncryptedField, PlaintextRefusedError, Sealed
from afspraak.crypto.keysets import keys_for_reading
from afspraak.crypto.tests.records import load_invitee, make_invitee, read
from afspraak.tenancy.context import organization_context

pytestmark = pytest.mark.django_db

ENCRYPTED_COLUMNS = ("name", "email", "phone", "notes", "answers")


def stored(invitee: Invitee, column: str) -> str:
    """Return the text of a column as it sits in the database."""
    with organization_context(invitee.organization):
        value = Invitee._base_manager.values_list(column, flat=True).get(pk=invitee.pk)
    return value.text if isinstance(value, Sealed) else value


def overwrite(invitee: Invitee, column: str, text: str) -> None:
    """Put raw text into a column, as an attacker with database access could."""
    with organization_context(invitee.organization):
        Invitee._base_manager.filter(pk=invitee.pk).update(**{column: Sealed(text)})


def test_every_field_type_round_trips(org):
    answers = {"reason": "knee pain", "visits": [1, 2], "urgent": False, "note": "ünïcode ✓"}
    invitee = make_invitee(
        org,
        name="Zoë van den Berg",
        email="zoe@example.test",
        phone="+31 20 555 0100",
        notes="Wheelchair access\nplease",
        answers=answers,
    )

    loaded = load_invitee(invitee)

    assert loaded.name == "Zoë van den Berg"
    assert loaded.email == "zoe@example.test"
    assert loaded.phone == "+31 20 555 0100"
    assert loaded.notes == "Wheelchair access\nplease"
    assert loaded.answers == answers


def test_json_field_round_trips_other_json_values(org):
    values: list[object] = [[1, "two", None], "just text", 42, {}]
    for value in values:
        invitee = make_invitee(
            org, email=f"v{len(str(value))}-{id(value)}@example.test", answers=value
        )
        assert read(invitee, "answers") == value


def test_blank_values_round_trip_without_ciphertext(org):
    invitee = make_invitee(org, phone="", notes="")

    loaded = load_invitee(invitee)

    assert (loaded.phone, loaded.notes) == ("", "")
    assert stored(invitee, "phone") == ""


def test_columns_hold_ciphertext_under_the_organizations_primary_key(org):
    invitee = make_invitee(org)
    primary = keys_for_reading(org.pk).data_primary_key_id

    for column in ENCRYPTED_COLUMNS:
        text = stored(invitee, column)
        assert text.startswith("afs1.01")
        assert key_id_of(text) == primary
    assert "Anna" not in stored(invitee, "name")
    assert "check-up" not in stored(invitee, "answers")


def test_saving_twice_encrypts_with_a_fresh_nonce(org):
    invitee = make_invitee(org)
    first = stored(invitee, "name")
    invitee.name = "Anna de Vries"
    with organization_context(org):
        invitee.save()

    assert stored(invitee, "name") != first
    assert read(invitee, "name") == "Anna de Vries"


def test_loading_decrypts_only_the_fields_that_are_read(org):
    invitee = make_invitee(org)

    loaded = load_invitee(invitee)

    assert isinstance(loaded.__dict__["notes"], Sealed)
    assert loaded.name == "Anna de Vries"
    assert loaded.__dict__["name"] == "Anna de Vries"
    assert isinstance(loaded.__dict__["notes"], Sealed)


def test_saving_an_unread_row_keeps_its_ciphertext(org):
    invitee = make_invitee(org)
    before = stored(invitee, "notes")
    loaded = load_invitee(invitee)
    loaded.phone = "+31 6 0000 0000"
    with organization_context(org):
        loaded.save()

    assert stored(invitee, "notes") == before
    assert read(invitee, "phone") == "+31 6 0000 0000"


def test_deferred_encrypted_field_loads_and_decrypts_on_access(org):
    invitee = make_invitee(org)
    with organization_context(org):
        loaded = Invitee.objects.only("public_id", "organization").get(pk=invitee.pk)

        assert loaded.notes == "Prefers mornings"


def test_reading_with_cached_keys_decrypts_on_the_fast_path(org, monkeypatch):
    invitee = make_invitee(org)
    keys_for_reading(org.pk)

    def refuse(self, instance, sealed):
        raise AssertionError(f"{self.name} left the fast path")

    monkeypatch.setattr(EncryptedField, "_open_carefully", refuse)
    loaded = load_invitee(invitee)

    assert [getattr(loaded, column) for column in ENCRYPTED_COLUMNS] == [
        "Anna de Vries",
        "anna@example.test",
        "+31 6 1234 5678",
        "Prefers mornings",
        {"reason": "check-up", "first_visit": True},
    ]


def test_fast_path_associated_data_is_the_documented_one(org):
    invitee = make_invitee(org)
    keys = keys_for_reading(org.pk)
    field = Invitee._meta.get_field("notes")

    assert keys.field_context + field._associated_data_middle + invitee.public_id.encode() == (
        field_associated_data(org.public_id, "bookings.invitee", "notes", invitee.public_id)
    )


def test_tampered_ciphertext_does_not_decrypt(org):
    invitee = make_invitee(org)
    raw = bytearray(ciphertext_bytes(stored(invitee, "name")))
    raw[-1] ^= 0x01
    prefix, body = bytes(raw[:5]), bytes(raw[5:])
    overwrite(invitee, "name", f"afs1.{prefix.hex()}.{base64.b64encode(body).decode()}")

    with pytest.raises(DecryptionError, match=r"bookings\.Invitee\.name of row inv_"):
        _ = read(invitee, "name")


def test_malformed_stored_text_does_not_decrypt(org):
    invitee = make_invitee(org)
    overwrite(invitee, "notes", "Prefers mornings")

    with pytest.raises(DecryptionError):
        _ = read(invitee, "notes")


def test_ciphertext_copied_to_another_row_does_not_decrypt(org):
    anna = make_invitee(org, email="anna@example.test")
    bert = make_invitee(org, name="Bert", email="bert@example.test")
    overwrite(bert, "name", stored(anna, "name"))

    with pytest.raises(DecryptionError):
        _ = read(bert, "name")
    assert read(anna, "name") == "Anna de Vries"


def test_ciphertext_copied_to_another_field_does_not_decrypt(org):
    invitee = make_invitee(org)
    overwrite(invitee, "notes", stored(invitee, "name"))

    with pytest.raises(DecryptionError):
        _ = read(invitee, "notes")


def test_row_moved_to_another_organization_does_not_decrypt(org, other_org):
    invitee = make_invitee(org)
    # The same row (same public id, same field, same ciphertext) as the other
    # organization would load it if someone moved it there in the database; row-level
    # security keeps the application itself from making that move.
    moved = Invitee(pk=invitee.pk, organization=other_org, public_id=invitee.public_id)
    moved.__dict__["name"] = Sealed(stored(invitee, "name"))

    with organization_context(other_org), pytest.raises(DecryptionError):
        _ = moved.name


def test_ciphertext_copied_into_another_organizations_row_does_not_decrypt(org, other_org):
    ours = make_invitee(org)
    theirs = make_invitee(other_org)
    overwrite(theirs, "notes", stored(ours, "notes"))

    with pytest.raises(DecryptionError):
        _ = read(theirs, "notes")


def test_failed_decryption_is_audited_without_personal_data(org):
    invitee = make_invitee(org)
    overwrite(invitee, "email", stored(invitee, "name"))

    with pytest.raises(DecryptionError) as failure:
        _ = read(invitee, "email")
    # Raised inside the organization's transaction: the boundary records it afterwards.
    report_failure(failure.value)

    event = AuditEvent.objects.get(action="crypto.decryption.failed")
    assert event.outcome == "failure"
    assert event.organization == org
    assert event.data["model"] == "bookings.invitee"
    assert event.data["field"] == "email"
    assert event.data["row_id"] == invitee.public_id
    assert "anna" not in str(event.data).lower()


def test_failure_message_shows_no_plaintext(org):
    invitee = make_invitee(org, name="Secret Person")
    overwrite(invitee, "name", stored(invitee, "notes"))

    with pytest.raises(DecryptionError) as failure:
        _ = read(invitee, "name")

    assert "Secret" not in str(failure.value)
    assert "Prefers" not in str(failure.value)


def test_repr_and_str_show_no_personal_data(org):
    invitee = make_invitee(org, name="Visible Name", email="visible@example.test")
    loaded = load_invitee(invitee)
    _ = loaded.name

    assert invitee.public_id in str(loaded)
    for text in (repr(loaded), str(loaded), repr(Sealed(stored(invitee, "name")))):
        assert "Visible" not in text
        assert "visible@" not in text


def test_filtering_on_an_encrypted_value_is_refused(org):
    make_invitee(org)
    with organization_context(org), pytest.raises(PlaintextRefusedError):
        list(Invitee.objects.filter(name="Anna de Vries"))


def test_pattern_lookups_on_encrypted_fields_are_refused(org):
    with organization_context(org), pytest.raises(FieldError):
        list(Invitee.objects.filter(name__icontains="anna"))


def test_queryset_update_with_plaintext_is_refused(org):
    invitee = make_invitee(org)
    with organization_context(org), pytest.raises(PlaintextRefusedError), transaction.atomic():
        Invitee.objects.filter(pk=invitee.pk).update(notes="leaked")

    assert "leaked" not in stored(invitee, "notes")


def test_bulk_update_with_plaintext_is_refused(org):
    invitee = make_invitee(org)
    invitee.notes = "leaked"
    with organization_context(org), pytest.raises(PlaintextRefusedError), transaction.atomic():
        Invitee.objects.bulk_update([invitee], ["notes"])

    assert "leaked" not in stored(invitee, "notes")


def test_bulk_create_encrypts(org):
    with organization_context(org):
        created = Invitee.objects.bulk_create(
            [
                Invitee(organization=org, name=f"Bulk {n}", email=f"bulk{n}@example.test")
                for n in range(3)
            ]
        )

    for invitee in created:
        assert stored(invitee, "name").startswith("afs1.")
        assert str(read(invitee, "name")).startswith("Bulk ")


def test_values_queries_return_sealed_values_not_plaintext(org):
    make_invitee(org)
    with organization_context(org):
        (name,) = Invitee.objects.values_list("name", flat=True)

    assert isinstance(name, Sealed)
    assert "Anna" not in repr(name)


def test_model_validation_checks_lengths_and_email_format(org):
    invitee = Invitee(organization=org, name="x" * 201, email="not an e-mail")
    with organization_context(org), pytest.raises(ValidationError) as error:
        invitee.full_clean()

    assert set(error.value.message_dict) >= {"name", "email"}

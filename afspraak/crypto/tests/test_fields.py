"""Encrypted fields: values round-trip, are stored as one bound ciphertext per row, fail closed."""

import base64
import json

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import transaction

from afspraak.audit.models import AuditEvent
from afspraak.bookings.models import Booking, Invitee
from afspraak.crypto.ciphertext import (
    ciphertext_bytes,
    key_id_of,
    row_associated_data,
    seal,
    unseal,
)
from afspraak.crypto.errors import DecryptionError
from afspraak.crypto.fields import (
    EncryptedFieldQueryError,
    PlaintextRefusedError,
    is_unread,
    open_row,
    row_spec,
)
from afspraak.crypto.fields import row as sealed_row
from afspraak.crypto.keysets import keys_for_reading
from afspraak.crypto.reporting import report_failure
from afspraak.crypto.tests.records import load_invitee, make_invitee, read
from afspraak.tenancy.context import organization_context

pytestmark = pytest.mark.django_db

ENCRYPTED_FIELDS = ("name", "email", "phone", "notes", "answers")


def stored(invitee: Invitee) -> str:
    """Return the invitee's sealed column as it sits in the database."""
    with organization_context(invitee.organization):
        return Invitee._base_manager.values_list("sealed", flat=True).get(pk=invitee.pk)


def overwrite(invitee: Invitee, text: str) -> None:
    """Put raw text into the sealed column, as an attacker with database access could."""
    with organization_context(invitee.organization):
        Invitee._base_manager.filter(pk=invitee.pk).update(sealed=text)


def reseal(invitee: Invitee, values: dict, label: str) -> str:
    """Return a valid ciphertext of ``values`` for the invitee's row, as model ``label``."""
    keys = keys_for_reading(invitee.organization_id)
    associated_data = row_associated_data(keys.organization_public_id, label, invitee.public_id)
    return seal(keys.data, json.dumps(values).encode(), associated_data)


def test_json_the_fast_parser_refuses_still_round_trips(org):
    # Huge integers and infinities are valid for Python's json but not for orjson.
    answers = {"big": 2**70, "limit": float("inf")}
    invitee = make_invitee(org, answers=answers)

    assert load_invitee(invitee).answers == answers


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


def test_the_row_holds_one_ciphertext_of_all_its_values_under_the_primary_key(org):
    invitee = make_invitee(org)
    keys = keys_for_reading(org.pk)
    text = stored(invitee)

    assert text.startswith("afs1.01")
    assert key_id_of(text) == keys.data_primary_key_id
    assert "Anna" not in text
    assert "check-up" not in text
    associated_data = row_associated_data(org.public_id, "bookings.invitee", invitee.public_id)
    assert json.loads(unseal(keys.data, text, associated_data)) == {
        "name": "Anna de Vries",
        "email": "anna@example.test",
        "phone": "+31 6 1234 5678",
        "notes": "Prefers mornings",
        "answers": {"reason": "check-up", "first_visit": True},
    }


def test_the_encrypted_fields_have_no_columns_of_their_own(org):
    concrete = {field.name for field in Invitee._meta.concrete_fields}

    assert "sealed" in concrete
    assert not concrete & set(ENCRYPTED_FIELDS)
    assert row_spec(Invitee).names == tuple(sorted(ENCRYPTED_FIELDS))


def test_saving_twice_encrypts_with_a_fresh_nonce(org):
    invitee = make_invitee(org)
    first = stored(invitee)
    invitee.name = "Anna de Vries"
    with organization_context(org):
        invitee.save()

    assert stored(invitee) != first
    assert read(invitee, "name") == "Anna de Vries"


def test_a_loaded_row_is_decrypted_once_on_first_access(org, monkeypatch):
    invitee = make_invitee(org)
    loaded = load_invitee(invitee)
    assert is_unread(loaded)
    opened = []
    real_open = sealed_row._unseal_row

    def counting(instance, text):
        opened.append(instance.pk)
        return real_open(instance, text)

    monkeypatch.setattr(sealed_row, "_unseal_row", counting)

    assert [getattr(loaded, name) for name in ENCRYPTED_FIELDS * 2][:2] == [
        "Anna de Vries",
        "anna@example.test",
    ]
    assert opened == [invitee.pk]


def test_changing_one_field_reseals_the_row_with_the_other_values(org):
    invitee = make_invitee(org)
    before = stored(invitee)
    loaded = load_invitee(invitee)
    loaded.phone = "+31 6 0000 0000"
    with organization_context(org):
        loaded.save()

    assert stored(invitee) != before
    assert read(invitee, "phone") == "+31 6 0000 0000"
    assert read(invitee, "notes") == "Prefers mornings"


def test_a_partial_save_of_one_encrypted_field_reseals_the_row(org):
    invitee = make_invitee(org)
    loaded = load_invitee(invitee)
    loaded.notes = "Afternoons now"
    # Named as callers name it; django-stubs would flag the literal, as notes has no column.
    partial: list[str] = ["notes"]
    with organization_context(org):
        loaded.save(update_fields=partial)

    assert read(invitee, "notes") == "Afternoons now"
    assert read(invitee, "name") == "Anna de Vries"


def test_saving_a_row_whose_values_were_not_touched_keeps_its_ciphertext(org):
    invitee = make_invitee(org)
    before = stored(invitee)
    loaded = load_invitee(invitee)
    loaded.created_at = loaded.created_at.replace(year=2020)
    with organization_context(org):
        loaded.save()

    assert stored(invitee) == before
    assert is_unread(loaded)


def test_deferred_sealed_column_loads_and_decrypts_on_access(org):
    invitee = make_invitee(org)
    with organization_context(org):
        loaded = Invitee.objects.only("public_id", "organization").get(pk=invitee.pk)

        assert loaded.notes == "Prefers mornings"


def test_a_value_set_on_a_row_loaded_without_its_sealed_column_is_saved(org):
    invitee = make_invitee(org)
    with organization_context(org):
        loaded = Invitee.objects.only("public_id", "organization").get(pk=invitee.pk)
        loaded.notes = "Set while deferred"
        loaded.save()

    assert read(invitee, "notes") == "Set while deferred"
    assert read(invitee, "name") == "Anna de Vries"


def test_refreshing_from_the_database_forgets_the_decrypted_values(org):
    invitee = make_invitee(org)
    with organization_context(org):
        loaded = Invitee.objects.get(pk=invitee.pk)
        assert loaded.name == "Anna de Vries"
        invitee.name = "Anna Jansen"
        invitee.save()

        loaded.refresh_from_db(fields=["name"])

        assert loaded.name == "Anna Jansen"


def test_defaults_and_constructor_values_are_sealed(org):
    with organization_context(org):
        created = Invitee.objects.create(organization=org, name="Kees", email="k@example.test")

    loaded = load_invitee(created)
    assert (loaded.name, loaded.phone, loaded.notes, loaded.answers) == ("Kees", "", "", {})


def test_reading_with_cached_keys_decrypts_on_the_fast_path(org, monkeypatch):
    invitee = make_invitee(org)
    keys_for_reading(org.pk)

    def refuse(instance, spec, text):
        raise AssertionError("the row left the fast path")

    monkeypatch.setattr(sealed_row, "_open_carefully", refuse)
    loaded = load_invitee(invitee)

    assert [getattr(loaded, column) for column in ENCRYPTED_FIELDS] == [
        "Anna de Vries",
        "anna@example.test",
        "+31 6 1234 5678",
        "Prefers mornings",
        {"reason": "check-up", "first_visit": True},
    ]


def test_fast_path_associated_data_is_the_documented_one(org):
    invitee = make_invitee(org)
    keys = keys_for_reading(org.pk)
    spec = row_spec(Invitee)

    assert keys.row_context + spec.associated_data_middle + invitee.public_id.encode() == (
        row_associated_data(org.public_id, "bookings.invitee", invitee.public_id)
    )


def test_tampered_ciphertext_does_not_decrypt(org):
    invitee = make_invitee(org)
    raw = bytearray(ciphertext_bytes(stored(invitee)))
    raw[-1] ^= 0x01
    prefix, body = bytes(raw[:5]), bytes(raw[5:])
    overwrite(invitee, f"afs1.{prefix.hex()}.{base64.b64encode(body).decode()}")

    with pytest.raises(DecryptionError, match=r"bookings\.Invitee row inv_"):
        _ = read(invitee, "name")


def test_malformed_stored_text_does_not_decrypt(org):
    invitee = make_invitee(org)
    overwrite(invitee, "afs1.0100000001.bm90IGEgY2lwaGVydGV4dA==")

    with pytest.raises(DecryptionError):
        _ = read(invitee, "notes")


def test_plaintext_is_refused_by_the_sealed_column(org):
    invitee = make_invitee(org)
    with pytest.raises(PlaintextRefusedError):
        overwrite(invitee, '{"name": "Anna"}')


def test_ciphertext_copied_to_another_row_does_not_decrypt(org):
    anna = make_invitee(org, email="anna@example.test")
    bert = make_invitee(org, name="Bert", email="bert@example.test")
    overwrite(bert, stored(anna))

    with pytest.raises(DecryptionError):
        _ = read(bert, "name")
    assert read(anna, "name") == "Anna de Vries"


def test_ciphertext_of_another_model_does_not_decrypt(org):
    invitee = make_invitee(org)
    values = {"answers": {}, "cancel_reason": "", "invitee_name": "Anna", "invitee_phone": "",
              "location": ""}  # fmt: skip
    # A booking's row, as if it had the invitee's public id: model and fields differ.
    overwrite(invitee, reseal(invitee, values, "bookings.booking"))

    with pytest.raises(DecryptionError):
        _ = read(invitee, "name")


def test_a_valid_ciphertext_of_the_right_binding_decrypts(org):
    # The test above fails for its binding alone: this one seals correctly.
    invitee = make_invitee(org)
    values = dict.fromkeys(ENCRYPTED_FIELDS, "") | {"name": "Resealed", "answers": {}}
    overwrite(invitee, reseal(invitee, values, "bookings.invitee"))

    assert read(invitee, "name") == "Resealed"


def test_a_row_sealed_before_a_field_was_added_opens_with_its_default(org):
    invitee = make_invitee(org)
    # The right model and row, sealed when the model had no "answers" field yet.
    values = {"name": "Anna", "email": "anna@example.test", "phone": "", "notes": ""}
    overwrite(invitee, reseal(invitee, values, "bookings.invitee"))

    assert read(invitee, "name") == "Anna"
    assert read(invitee, "answers") == {}


def test_a_row_sealed_before_a_field_was_removed_drops_it_at_the_next_save(org):
    invitee = make_invitee(org)
    values = dict.fromkeys(ENCRYPTED_FIELDS, "") | {"answers": {}, "fax": "+31 20 000 0000"}
    overwrite(invitee, reseal(invitee, values, "bookings.invitee"))
    with organization_context(org):
        loaded = Invitee.objects.get(pk=invitee.pk)
        loaded.name = "Anna"
        loaded.save()

    keys = keys_for_reading(org.pk)
    associated_data = row_associated_data(org.public_id, "bookings.invitee", invitee.public_id)
    assert set(json.loads(unseal(keys.data, stored(invitee), associated_data))) == set(
        ENCRYPTED_FIELDS
    )


def test_row_moved_to_another_organization_does_not_decrypt(org, other_org):
    invitee = make_invitee(org)
    # The same row (same public id, same ciphertext) as the other organization would
    # load it if someone moved it there in the database; row-level security keeps the
    # application itself from making that move.
    moved = Invitee(pk=invitee.pk, organization=other_org, public_id=invitee.public_id)
    moved.__dict__["sealed"] = stored(invitee)

    with organization_context(other_org), pytest.raises(DecryptionError):
        _ = moved.name


def test_ciphertext_copied_into_another_organizations_row_does_not_decrypt(org, other_org):
    ours = make_invitee(org)
    theirs = make_invitee(other_org)
    overwrite(theirs, stored(ours))

    with pytest.raises(DecryptionError):
        _ = read(theirs, "notes")


def test_failed_decryption_is_audited_without_personal_data(org):
    invitee = make_invitee(org)
    other = make_invitee(org, email="other@example.test")
    overwrite(invitee, stored(other))

    with pytest.raises(DecryptionError) as failure:
        _ = read(invitee, "email")
    # Raised inside the organization's transaction: the boundary records it afterwards.
    report_failure(failure.value)

    event = AuditEvent.objects.get(action="crypto.decryption.failed")
    assert event.outcome == "failure"
    assert event.organization == org
    assert event.data["model"] == "bookings.invitee"
    assert event.data["row_id"] == invitee.public_id
    assert event.data["key_id"] == keys_for_reading(org.pk).data_primary_key_id
    assert "anna" not in str(event.data).lower()


def test_failure_message_shows_no_plaintext(org):
    invitee = make_invitee(org, name="Secret Person")
    other = make_invitee(org, email="other@example.test")
    overwrite(invitee, stored(other))

    with pytest.raises(DecryptionError) as failure:
        _ = read(invitee, "name")

    assert "Secret" not in str(failure.value)
    assert "Prefers" not in str(failure.value)


def test_repr_and_str_show_no_personal_data(org):
    invitee = make_invitee(org, name="Visible Name", email="visible@example.test")
    loaded = load_invitee(invitee)
    _ = loaded.name

    assert invitee.public_id in str(loaded)
    for text in (repr(loaded), str(loaded)):
        assert "Visible" not in text
        assert "visible@" not in text


def test_filtering_on_an_encrypted_value_is_refused(org):
    make_invitee(org)
    with organization_context(org), pytest.raises(EncryptedFieldQueryError):
        list(Invitee.objects.filter(name="Anna de Vries"))


def test_pattern_lookups_and_ordering_on_encrypted_fields_are_refused(org):
    with organization_context(org), pytest.raises(FieldError):
        list(Invitee.objects.filter(name__icontains="anna"))
    with organization_context(org), pytest.raises(EncryptedFieldQueryError):
        list(Invitee.objects.order_by("name"))


def test_pattern_lookups_on_the_sealed_column_do_not_exist(org):
    with organization_context(org), pytest.raises(FieldError):
        list(Invitee.objects.filter(sealed__icontains="afs1"))


def test_queryset_update_with_plaintext_is_refused(org):
    invitee = make_invitee(org)
    with organization_context(org), pytest.raises(FieldError), transaction.atomic():
        Invitee.objects.filter(pk=invitee.pk).update(**{"notes": "leaked"})

    assert read(invitee, "notes") == "Prefers mornings"


def test_bulk_update_of_an_encrypted_field_is_refused(org):
    invitee = make_invitee(org)
    invitee.notes = "leaked"
    with (
        organization_context(org),
        pytest.raises(ValueError, match="concrete fields"),
        transaction.atomic(),
    ):
        Invitee.objects.bulk_update([invitee], list(ENCRYPTED_FIELDS[3:4]))

    assert read(invitee, "notes") == "Prefers mornings"


def test_bulk_create_encrypts(org):
    with organization_context(org):
        created = Invitee.objects.bulk_create(
            [
                Invitee(organization=org, name=f"Bulk {n}", email=f"bulk{n}@example.test")
                for n in range(3)
            ]
        )

    for invitee in created:
        assert stored(invitee).startswith("afs1.")
        assert "Bulk" not in stored(invitee)
        assert str(read(invitee, "name")).startswith("Bulk ")


def test_values_queries_of_encrypted_fields_are_refused_and_the_row_is_ciphertext(org):
    make_invitee(org)
    with organization_context(org):
        # Django re-raises the refusal as "Cannot resolve keyword" (chained to it).
        with pytest.raises(FieldError) as refused:
            list(Invitee.objects.values_list("name", flat=True))
        assert isinstance(refused.value.__context__, EncryptedFieldQueryError)
        (sealed,) = Invitee.objects.values_list("sealed", flat=True)

    assert sealed.startswith("afs1.")
    assert "Anna" not in sealed


def test_model_validation_checks_lengths_and_email_format(org):
    invitee = Invitee(organization=org, name="x" * 201, email="not an e-mail")
    with organization_context(org), pytest.raises(ValidationError) as error:
        invitee.full_clean()

    assert set(error.value.message_dict) >= {"name", "email"}


def test_model_validation_requires_what_is_not_blank(org):
    invitee = Invitee(organization=org)
    with organization_context(org), pytest.raises(ValidationError) as error:
        invitee.full_clean()

    assert set(error.value.message_dict) == {"name", "email"}


def test_every_model_with_encrypted_fields_is_sealed_whole():
    assert row_spec(Booking).names == (
        "answers",
        "cancel_reason",
        "invitee_name",
        "invitee_phone",
        "location",
    )


def test_open_row_of_a_new_instance_needs_no_key(org):
    invitee = Invitee(organization=org)

    assert open_row(invitee) == {}

"""Canary: personal data and keys never reach the database files in the clear.

An invitee and a booking carry a unique marker in every encrypted field, and so does
an invitation's e-mail address; the raw database (SQLite's pages, PostgreSQL's
``pg_dump`` and ``COPY`` output) must not contain it. The organization's name carries
a control marker in plaintext and the records' public ids are plaintext too, so each
search is shown to see the rows it searches.
"""

import base64
import os
import secrets
import sqlite3
import subprocess
from pathlib import Path

import pytest
import tink
from django.db import connection
from tink import aead, secret_key_access
from tink.proto import aes_gcm_pb2, hmac_prf_pb2, tink_pb2

from afspraak.bookings.models import Booking, Invitee
from afspraak.crypto import keysets
from afspraak.crypto.keyring import keyset_proto
from afspraak.crypto.models import KeysetPurpose, OrganizationKeyset
from afspraak.crypto.tests.records import (
    make_booking,
    make_invitation,
    make_invitee,
    make_organization,
)
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Invitation, Organization

TABLES = (
    "bookings_invitee",
    "bookings_booking",
    "crypto_organizationkeyset",
    "audit_auditevent",
    "tenancy_organization",
    "tenancy_invitation",
)


def plant_canary() -> tuple[str, str, Organization, list[Invitee | Booking | Invitation]]:
    """Create an organization named with a control marker, and records full of a canary."""
    marker, control = f"canary{secrets.token_hex(8)}", f"control{secrets.token_hex(8)}"
    organization = make_organization(name=f"Practice {control}", slug=control)
    invitee = make_invitee(
        organization,
        name=f"{marker} Person",
        email=f"{marker}@example.test",
        phone=f"+31 {marker}",
        notes=f"notes {marker}",
        answers={"question": f"answer {marker}", marker: True},
    )
    booking = make_booking(
        invitee,
        invitee_name=f"{marker} Booker",
        invitee_phone=f"+31 {marker}",
        answers={"question": f"answer {marker}", marker: [marker]},
        location=f"Room {marker}",
        cancel_reason=f"reason {marker}",
    )
    invitation = make_invitation(organization, f"invited.{marker}@example.test")
    return marker, control, organization, [invitee, booking, invitation]


def key_material(organization) -> list[bytes]:
    """Return the raw secret key bytes of the organization's data and index keys."""
    found = []
    with organization_context(organization):
        stored = list(OrganizationKeyset.objects.filter(organization=organization))
    for keyset in stored:
        handle = keysets.unwrap_keyset(keyset, organization.public_id)
        for key in keyset_proto(handle).key:
            proto = (
                aes_gcm_pb2.AesGcmKey
                if keyset.purpose == KeysetPurpose.DATA
                else hmac_prf_pb2.HmacPrfKey
            )
            found.append(proto.FromString(key.key_data.value).key_value)
    assert len(found) == 2
    assert all(len(value) == 32 for value in found)
    return found


def assert_nothing_leaks(dump: bytes, marker: str, control: str, organization, records) -> None:
    # The search sees the data: the plaintext control column and each record's row are there.
    assert f"Practice {control}".encode() in dump
    for record in records:
        assert record.public_id.encode() in dump
    assert marker.encode() not in dump
    assert marker.encode("utf-16-le") not in dump
    for key in key_material(organization):
        for form in (key, key.hex().encode(), base64.b64encode(key)):
            assert form not in dump


# The PostgreSQL run searches pg_dump and COPY output instead (the test below).
@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_sqlite_database_file_holds_no_personal_data_or_keys(tmp_path):
    marker, control, organization, records = plant_canary()
    copy = tmp_path / "copy.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as target:
        # The backup API copies the database page by page: the file's bytes as SQLite keeps them.
        connection.connection.backup(target)

    assert_nothing_leaks(copy.read_bytes(), marker, control, organization, records)


def _pg_dump() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    assert candidates, "pg_dump is not installed"
    return candidates[-1]


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_postgresql_dump_and_table_copies_hold_no_personal_data_or_keys():
    marker, control, organization, records = plant_canary()
    database = connection.settings_dict
    environment = {
        **os.environ,
        "PGPASSWORD": database["PASSWORD"],
        "PGSSLMODE": "disable",
        # Row-level security binds the tables' owner too: dump as the canary organization,
        # so its rows of every tenant table are in the dump (the assertions check they are).
        "PGOPTIONS": f"-c afspraak.organization_id={organization.pk}",
    }
    dump = subprocess.run(  # noqa: S603 (the installed pg_dump, fixed arguments)
        [
            str(_pg_dump()),
            "--host", database["HOST"],
            "--port", str(database["PORT"]),
            "--username", database["USER"],
            "--dbname", database["NAME"],
            "--no-password",
            "--enable-row-security",
        ],
        env=environment,
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout  # fmt: skip

    assert_nothing_leaks(dump, marker, control, organization, records)

    copied = b""
    # Inside the organization's context, so row-level security shows its rows.
    with organization_context(organization), connection.cursor() as cursor:
        for table in TABLES:
            with cursor.cursor.copy(f'COPY "{table}" TO STDOUT') as copy:
                copied += b"".join(bytes(block) for block in copy)
    assert_nothing_leaks(copied, marker, control, organization, records)


def test_key_material_parsing_reads_real_keys():
    # The key search above is only as good as this parser: check it on a fresh keyset.
    handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
    serialized = tink.proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    key = tink_pb2.Keyset.FromString(serialized).key[0]
    value = aes_gcm_pb2.AesGcmKey.FromString(key.key_data.value).key_value

    assert len(value) == 32
    assert value in serialized

"""Fail closed: a missing, exposed or wrong master key stops commands and requests cleanly."""

import io

import pytest
import tink
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory
from huey.exceptions import TaskException
from tink import prf, secret_key_access

from afspraak.audit.models import AuditEvent
from afspraak.crypto import keysets
from afspraak.crypto.errors import DecryptionError, MasterKeyError
from afspraak.crypto.keyring import create_master_keyset
from afspraak.crypto.keysets import clear_key_caches
from afspraak.crypto.middleware import UNAVAILABLE_MESSAGE, CryptoFailureMiddleware
from afspraak.crypto.models import KeyRotation, OrganizationKeyset
from afspraak.crypto.reporting import report_failure
from afspraak.crypto.tests.jobs import read_invitee_name
from afspraak.crypto.tests.records import make_invitee, make_organization, read
from afspraak.tenancy.context import organization_context

pytestmark = pytest.mark.django_db


def keys(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def stored_keysets(organization) -> list[tuple[str, str, str]]:
    with organization_context(organization):
        return list(
            OrganizationKeyset.objects.order_by("pk").values_list(
                "wrapped_keyset", "master_key_id", "revision"
            )
        )


def stored_invitees(organization) -> list[tuple]:
    with organization_context(organization), connection.cursor() as cursor:
        cursor.execute("SELECT sealed, email_index FROM bookings_invitee ORDER BY id")
        return cursor.fetchall()


def corrupt(invitee) -> None:
    """Copy another invitee's sealed row over this one's, as someone with database access could."""
    other = make_invitee(invitee.organization, email=f"other.{invitee.pk}@example.test")
    with organization_context(invitee.organization), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE bookings_invitee SET sealed = (SELECT sealed FROM bookings_invitee "
            "WHERE id = %s) WHERE id = %s",
            [other.pk, invitee.pk],
        )


def replace_with_a_different_keyset(path) -> None:
    path.unlink()
    create_master_keyset(path)
    clear_key_caches()


def lose(path) -> None:
    path.unlink()
    clear_key_caches()


def expose(path) -> None:
    path.chmod(0o644)
    clear_key_caches()


BREAKAGES = {
    "missing": (lose, "is missing: restore it from your key backup"),
    "readable by others": (expose, "chmod 600"),
    "wrong key": (replace_with_a_different_keyset, "does not decrypt under the master keyset"),
}


@pytest.mark.parametrize("breakage", BREAKAGES)
@pytest.mark.parametrize("command", [("rotate-master",), ("rotate-org", "alpha")])
def test_rotation_with_a_broken_master_key_exits_nonzero_and_writes_nothing(
    org, master_keyset, breakage, command
):
    make_invitee(org)
    keysets_before, invitees_before = stored_keysets(org), stored_invitees(org)
    break_key, message = BREAKAGES[breakage]
    break_key(master_keyset)
    file_before = master_keyset.read_bytes() if master_keyset.exists() else None

    with pytest.raises(CommandError, match=message):
        keys(*command)

    assert stored_keysets(org) == keysets_before
    assert stored_invitees(org) == invitees_before
    with organization_context(org):
        assert not KeyRotation.objects.exists()
    assert (master_keyset.read_bytes() if master_keyset.exists() else None) == file_before
    event = AuditEvent.objects.get(action="crypto.master_key.unavailable")
    assert event.outcome == "failure"


def test_status_reports_an_unavailable_master_key_and_exits_nonzero(org, master_keyset):
    lose(master_keyset)
    out = io.StringIO()

    with pytest.raises(CommandError, match="master key is unavailable"):
        call_command("keys", "status", stdout=out)

    assert "UNAVAILABLE" in out.getvalue()
    assert "alpha: data key" in out.getvalue()


def test_reading_with_a_lost_master_key_fails_closed(org, master_keyset):
    invitee = make_invitee(org)
    lose(master_keyset)

    with pytest.raises(MasterKeyError, match="missing") as failure:
        _ = read(invitee, "name")
    report_failure(failure.value)

    assert AuditEvent.objects.filter(action="crypto.master_key.unavailable").exists()


def test_writing_with_a_wrong_master_key_fails_closed_and_writes_nothing(org, master_keyset):
    invitee = make_invitee(org)
    before = stored_invitees(org)
    replace_with_a_different_keyset(master_keyset)
    invitee.notes = "new notes"

    with pytest.raises(MasterKeyError), organization_context(org):
        invitee.save()

    assert stored_invitees(org) == before


@pytest.mark.urls("afspraak.crypto.tests.urls")
def test_a_page_that_cannot_decrypt_answers_503_with_a_plain_message(client, org):
    invitee = make_invitee(org, name="Hidden Person")
    url = f"/o/{org.slug}/invitee/{invitee.public_id}/"
    assert client.get(url).content == b"Hello Hidden Person"
    corrupt(invitee)
    keysets.clear_cache()

    response = client.get(url)

    assert response.status_code == 503
    body = response.content.decode()
    assert UNAVAILABLE_MESSAGE in body
    assert "Hidden" not in body
    assert "bookings" not in body
    assert response["Cache-Control"] == "no-store"
    assert AuditEvent.objects.filter(action="crypto.decryption.failed").count() == 1


@pytest.mark.urls("afspraak.crypto.tests.urls")
def test_a_page_without_its_master_key_answers_503(client, org, master_keyset):
    invitee = make_invitee(org)
    lose(master_keyset)

    response = client.get(f"/o/{org.slug}/invitee/{invitee.public_id}/")

    assert response.status_code == 503
    assert "master" not in response.content.decode()


def test_the_middleware_leaves_other_exceptions_alone():
    middleware = CryptoFailureMiddleware(lambda request: HttpResponse())

    assert middleware.process_exception(RequestFactory().get("/"), ValueError("x")) is None


def test_a_keyset_file_that_is_not_an_aead_keyset_is_refused(master_keyset):
    handle = tink.new_keyset_handle(prf.prf_key_templates.HMAC_SHA256)
    master_keyset.write_text(
        tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN)
    )
    clear_key_caches()

    with pytest.raises(CommandError, match="not an AEAD keyset"):
        keys("rotate-master")


@pytest.mark.django_db(transaction=True)
def test_a_failure_inside_a_transaction_is_audited_once_after_the_rollback(caplog):
    organization = make_organization()
    invitee = make_invitee(organization)
    corrupt(invitee)
    keysets.clear_cache()

    with pytest.raises(DecryptionError) as failure, transaction.atomic():
        _ = read(invitee, "name")
    # The event written inside the transaction would have been rolled back with it.
    assert not AuditEvent.objects.filter(action="crypto.decryption.failed").exists()
    report_failure(failure.value)  # what the middleware or a command does next
    report_failure(failure.value)

    assert AuditEvent.objects.filter(action="crypto.decryption.failed").count() == 1
    logged = [r for r in caplog.records if r.name == "afspraak.crypto"]
    assert len(logged) == 1
    assert f"bookings.Invitee row {invitee.public_id}" in logged[0].getMessage()


def test_a_background_job_that_cannot_decrypt_is_audited(org):
    invitee = make_invitee(org)
    corrupt(invitee)
    keysets.clear_cache()

    result = read_invitee_name(org.pk, invitee.pk)

    with pytest.raises(TaskException, match="DecryptionError"):
        result.get()
    event = AuditEvent.objects.get(action="crypto.decryption.failed")
    assert event.data["row_id"] == invitee.public_id

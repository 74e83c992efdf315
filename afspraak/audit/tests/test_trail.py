import json
import logging

import pytest
from django.db import connection, transaction

from afspraak.audit.context import AuditContext
from afspraak.audit.logformat import ECSFormatter
from afspraak.audit.models import AppendOnlyError, AuditEvent
from afspraak.audit.trail import record
from afspraak.testing.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_record_writes_one_event_with_its_outcome():
    event = record("accounts.login.failed", actor=None, outcome="failure", data={"count": 2})

    stored = AuditEvent.objects.get()
    assert stored.pk == event.pk
    assert (stored.action, stored.outcome, stored.data) == (
        "accounts.login.failed",
        "failure",
        {"count": 2},
    )


def test_record_refuses_secret_looking_data():
    with pytest.raises(ValueError, match="password"):
        record("accounts.login.failed", actor=None, data={"new_password": "x"})
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("data", "name"),
    [
        ({"invitee_email": "x"}, "invitee_email"),
        ({"details": {"api_token": "x"}}, "api_token"),
        ({"steps": [{"ok": 1}, {"otp_code": "123456"}]}, "otp_code"),
    ],
)
def test_record_refuses_secrets_and_email_addresses_at_any_depth(data, name):
    with pytest.raises(ValueError, match=name):
        record("accounts.login.failed", actor=None, data=data)
    assert not AuditEvent.objects.exists()


def test_orm_refuses_update_and_delete():
    event = record("accounts.login.failed", actor=None)

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="accounts.logout")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'accounts.forged'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_database_refuses_raw_update_and_delete(statement):
    record("accounts.login.failed", actor=None)

    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.get().action == "accounts.login.failed"


def test_record_keeps_the_client_address_a_trusted_proxy_forwarded(rf, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    request = rf.get("/", HTTP_X_FORWARDED_FOR="198.51.100.9, 203.0.113.7", REMOTE_ADDR="10.0.0.2")

    event = record("accounts.login.failed", context=AuditContext.from_request(request))

    # The proxy appended the address it saw; anything before it the client could forge.
    assert AuditEvent.objects.get(pk=event.pk).ip_address == "203.0.113.7"


def test_record_ignores_forwarded_addresses_when_no_proxy_is_trusted(rf):
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.2")

    event = record("accounts.login.failed", context=AuditContext.from_request(request))

    assert AuditEvent.objects.get(pk=event.pk).ip_address == "10.0.0.2"


def test_record_keeps_no_address_when_the_proxy_header_is_malformed(rf, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    request = rf.get("/", HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.2")

    event = record("accounts.login.failed", context=AuditContext.from_request(request))

    assert AuditEvent.objects.get(pk=event.pk).ip_address is None


def test_each_event_goes_to_the_siem_stream_as_one_ecs_json_line(
    caplog, django_capture_on_commit_callbacks
):
    organization = OrganizationFactory.create()
    user = UserFactory.create()

    with (
        caplog.at_level(logging.INFO, logger="afspraak.audit.events"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        event = record(
            "accounts.login.failed", actor=user, organization=organization, data={"count": 2}
        )

    [log_record] = [r for r in caplog.records if r.name == "afspraak.audit.events"]
    line = ECSFormatter().format(log_record)
    assert "\n" not in line
    document = json.loads(line)
    assert document["event.action"] == "accounts.login.failed"
    assert document["event.outcome"] == "success"
    assert document["event.id"] == str(event.pk)
    assert document["user.id"] == user.public_id
    assert document["organization.id"] == organization.public_id
    assert document["afspraak.data"] == {"count": 2}
    assert user.email not in line


def test_record_refuses_an_object_of_another_model_as_organization():
    with pytest.raises(TypeError, match=r"organization must be a saved tenancy\.Organization"):
        record("accounts.logout", organization=UserFactory.create())
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("address", "stored"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::ffff:203.0.113.9", "::ffff:203.0.113.9"),
        (None, None),
    ],
)
def test_record_keeps_the_address_in_its_short_form(address, stored):
    record("accounts.logout", context=AuditContext(actor=UserFactory.create(), ip_address=address))
    assert AuditEvent.objects.get().ip_address == stored


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [statement for (statement,) in cursor.fetchall()]


@pytest.mark.postgres_only
def test_the_append_is_the_only_prepared_statement_and_ids_of_any_size_share_one():
    organization = OrganizationFactory.create()
    near = UserFactory.create()
    # An id past 2**31: psycopg would send it as another integer type than a small one.
    far = UserFactory.build(pk=2**31 + 7, public_id="usr_far")
    with transaction.atomic():
        record("accounts.logout", actor=near, organization=organization, target=organization)
    shapes = len(_prepared())
    record("accounts.logout", actor=far, organization=organization, target=organization)
    assert len(_prepared()) == shapes == 1
    # Each of actor, organization and address present or not: at most eight, all the append
    # (Django's own statements bind on the client; psycopg prepares only while it runs).
    record("accounts.logout")
    record("accounts.logout", context=AuditContext(ip_address="203.0.113.9"))
    prepared = _prepared()
    assert 1 < len(prepared) <= 8
    assert all(
        statement.lstrip().startswith('WITH event AS (INSERT INTO "audit_auditevent"')
        for statement in prepared
    )
    assert connection.connection.prepare_threshold is None

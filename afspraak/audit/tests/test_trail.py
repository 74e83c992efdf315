import pytest
from django.db import connection, transaction

from afspraak.audit.models import AppendOnlyError, AuditEvent
from afspraak.audit.trail import record

pytestmark = pytest.mark.django_db


def test_record_writes_one_event_with_its_outcome():
    event = record("tests.thing.done", actor=None, outcome="failure", data={"count": 2})

    stored = AuditEvent.objects.get()
    assert stored.pk == event.pk
    assert (stored.action, stored.outcome, stored.data) == (
        "tests.thing.done",
        "failure",
        {"count": 2},
    )


def test_record_refuses_secret_looking_data():
    with pytest.raises(ValueError, match="password"):
        record("tests.thing.done", actor=None, data={"new_password": "x"})
    assert not AuditEvent.objects.exists()


def test_orm_refuses_update_and_delete():
    event = record("tests.thing.done", actor=None)

    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(action="tests.other")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET action = 'tests.forged'",
        "DELETE FROM audit_auditevent",
    ],
)
def test_database_refuses_raw_update_and_delete(statement):
    record("tests.thing.done", actor=None)

    with (
        pytest.raises(Exception, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert AuditEvent.objects.get().action == "tests.thing.done"

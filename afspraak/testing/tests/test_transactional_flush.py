import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from afspraak.audit.models import AuditEvent
from afspraak.audit.trail import record
from afspraak.testing.database import triggers_lifted


def _flush() -> None:
    call_command("flush", interactive=False, verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_flush_empties_append_only_tables_only_with_triggers_lifted_and_restores_them():
    record("accounts.logout")
    with pytest.raises(CommandError):
        _flush()
    assert AuditEvent.objects.count() == 1

    with triggers_lifted(connection):
        _flush()

    assert not AuditEvent.objects.exists()
    record("accounts.logout")
    with pytest.raises(Exception, match="append-only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.count() == 1

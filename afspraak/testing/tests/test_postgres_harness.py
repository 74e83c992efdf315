import tempfile
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from afspraak.testing import postgres
from afspraak.testing.postgres import PostgresHarnessError, ThrowAwayServer

pytestmark = pytest.mark.postgres_only


def _one_row(sql: str) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()


@pytest.mark.django_db
def test_django_talks_to_postgresql_on_loopback_as_the_owner_role(postgres_server):
    assert connection.vendor == "postgresql"
    address, port, user = _one_row(
        "SELECT host(inet_server_addr()), inet_server_port(), current_user"
    )
    assert (address, port, user) == ("127.0.0.1", postgres_server.port, postgres.OWNER_ROLE)
    assert _one_row(
        "SELECT rolsuper, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    ) == (False, True, False)
    assert _one_row("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_auditevent'") == (
        postgres.OWNER_ROLE,
    )


@pytest.mark.django_db
def test_app_role_signs_in_without_superuser_bypassrls_or_table_ownership(postgres_server):
    test_database = connection.settings_dict["NAME"]

    with psycopg.connect(**postgres_server.connection_kwargs("app", test_database)) as app:
        ((user, superuser, bypassrls, createdb, createrole),) = app.execute(
            "SELECT rolname, rolsuper, rolbypassrls, rolcreatedb, rolcreaterole "
            "FROM pg_roles WHERE rolname = current_user"
        ).fetchall()
        owned = app.execute(
            "SELECT count(*) FROM pg_tables WHERE tableowner = current_user"
        ).fetchall()

    assert user == postgres.APP_ROLE
    assert (superuser, bypassrls, createdb, createrole) == (False, False, False, False)
    assert owned == [(0,)]


@pytest.mark.django_db
def test_server_is_the_harness_throw_away_cluster(postgres_server):
    data_dir = postgres_server.data_dir
    assert data_dir.parent.parent == Path(tempfile.gettempdir())
    assert data_dir.parent.name.startswith("afspraak-pg-")
    postmaster_pid, _, _, port, socket_dir = (
        (data_dir / "postmaster.pid").read_text().split("\n")[:5]
    )
    assert (int(port), Path(socket_dir)) == (postgres_server.port, data_dir.parent)

    (backend_pid,) = _one_row("SELECT pg_backend_pid()")
    status = Path(f"/proc/{backend_pid}/status").read_text().splitlines()
    assert f"PPid:\t{postmaster_pid}" in status
    assert _one_row("SHOW listen_addresses") == ("127.0.0.1",)
    assert _one_row("SHOW fsync") == ("off",)


def test_a_server_that_fails_to_start_stops_the_run_with_its_log(monkeypatch):
    initdb = ThrowAwayServer._initdb

    def initdb_then_break_the_configuration(server: ThrowAwayServer) -> str:
        password = initdb(server)
        with (server.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("shared_buffers = 'plenty'\n")
        return password

    monkeypatch.setattr(ThrowAwayServer, "_initdb", initdb_then_break_the_configuration)
    server = ThrowAwayServer()

    with pytest.raises(PostgresHarnessError, match="pg_ctl start failed") as failure:
        server.start()

    assert 'invalid value for parameter "shared_buffers"' in str(failure.value)
    assert not server.base_dir.exists()

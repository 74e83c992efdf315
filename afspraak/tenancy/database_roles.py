"""Create Afspraak's PostgreSQL roles and its database on a fresh server (no Django needed).

The statements of ``docs/runbooks/postgresql-roles.md`` step 1, run as a superuser: the
owner (runs migrations, owns the tables and the database) and the application role (request
traffic: never superuser, never BYPASSRLS, owns nothing). The test harness's throw-away
server and the Patroni pair of ``afspraak.cluster`` both bootstrap through here, so the
roles a test sees are the roles the cluster gets.
"""

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class DatabaseRoles:
    """The owner and application roles and the database the owner owns."""

    owner_user: str
    owner_password: str
    app_user: str
    app_password: str
    database: str


def create_roles_and_database(superuser: psycopg.Connection, roles: DatabaseRoles) -> None:
    """Create the owner and application roles and the owner's database (autocommit connection)."""
    superuser.execute(
        sql.SQL(
            "CREATE ROLE {} LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS PASSWORD {}"
        ).format(sql.Identifier(roles.owner_user), sql.Literal(roles.owner_password))
    )
    superuser.execute(
        sql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
            "NOBYPASSRLS PASSWORD {}"
        ).format(sql.Identifier(roles.app_user), sql.Literal(roles.app_password))
    )
    superuser.execute(
        sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(roles.database), sql.Identifier(roles.owner_user)
        )
    )

"""The database settings reach a Patroni pair's current primary and drop a dead connection."""

import json
import os
import subprocess
import sys

import pytest

SHOW_DATABASE = (
    "import json, afspraak.settings as s; d = s.DATABASES['default']; "
    "print(json.dumps({k: d[k] for k in ('HOST', 'PORT', 'OPTIONS', 'CONN_HEALTH_CHECKS')}))"
)


def _settings(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AFSPRAAK_DB_")
    }
    return subprocess.run(  # noqa: S603 (this interpreter, a fixed snippet)
        [sys.executable, "-c", SHOW_DATABASE],
        env=environment | {"AFSPRAAK_DB_ENGINE": "postgresql"} | variables,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_multi_host_address_asks_libpq_for_the_writable_node():
    result = _settings(
        AFSPRAAK_DB_HOST="db1,db2",
        AFSPRAAK_DB_PORT="5432,5433",
        AFSPRAAK_DB_SSLMODE="verify-full",
        AFSPRAAK_DB_TARGET_SESSION_ATTRS="read-write",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "HOST": "db1,db2",
        "PORT": "5432,5433",
        "OPTIONS": {"sslmode": "verify-full", "target_session_attrs": "read-write"},
        "CONN_HEALTH_CHECKS": True,
    }


def test_without_the_setting_libpq_keeps_its_default():
    result = _settings()
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["OPTIONS"] == {"sslmode": "prefer"}


@pytest.mark.parametrize("value", ["readwrite", "master"])
def test_an_unknown_target_fails_at_startup_naming_the_variable(value):
    result = _settings(AFSPRAAK_DB_TARGET_SESSION_ATTRS=value)
    assert result.returncode != 0
    assert "AFSPRAAK_DB_TARGET_SESSION_ATTRS must be one of" in result.stderr


def _sqlite_conn_max_age(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AFSPRAAK_DB_")
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import afspraak.settings as s; print(s.DATABASES['default']['CONN_MAX_AGE'])",
        ],
        env=environment | {"AFSPRAAK_DB_ENGINE": "sqlite"} | variables,
        capture_output=True,
        text=True,
        check=False,
    )


def test_sqlite_connections_are_reused_as_postgresql_ones_are():
    # A fresh SQLite connection parses the schema again: the booking page's main cost.
    assert _sqlite_conn_max_age().stdout.strip() == "60"
    assert _sqlite_conn_max_age(AFSPRAAK_DB_CONN_MAX_AGE="0").stdout.strip() == "0"

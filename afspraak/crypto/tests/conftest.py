"""Fixtures for the encryption tests: a throw-away master keyset per test, and organizations."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from afspraak.crypto.keyring import create_master_keyset
from afspraak.crypto.keysets import clear_key_caches
from afspraak.crypto.tests.records import make_organization
from afspraak.tenancy.models import Organization


@pytest.fixture(autouse=True)
def master_keyset(settings, tmp_path) -> Iterator[Path]:
    """Point the application at a fresh master keyset in the test's own directory."""
    path = tmp_path / "keys" / "master.json"
    create_master_keyset(path)
    settings.AFSPRAAK_MASTER_KEYSET_FILE = path
    settings.AFSPRAAK_MASTER_KEY_URI = ""
    clear_key_caches()
    yield path
    clear_key_caches()


@pytest.fixture
def org(db) -> Organization:
    return make_organization(name="Alpha Clinic", slug="alpha")


@pytest.fixture
def other_org(db) -> Organization:
    return make_organization(name="Beta Practice", slug="beta")

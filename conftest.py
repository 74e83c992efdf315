"""Project-wide pytest fixtures: HTTPS test clients and a fast password hasher.

The throw-away PostgreSQL server is the ``afspraak.testing.postgres`` plugin (loaded with
``-p`` in ``pyproject.toml``: it must run before Django's settings are read). The plugins
below let transactional tests flush append-only tables, serve the app over HTTPS, drive
Chromium, collect the static files, and give every app the shared kit: the ``tenants``,
a frozen ``clock``, ``Access`` objects (``afspraak.testing.access``), factories
(``afspraak.testing.factories``) and audit assertions (``afspraak.testing.audit``).
"""

import pytest
from django.test import Client

pytest_plugins = [
    "afspraak.testing.database",
    "afspraak.testing.liveserver",
    "afspraak.testing.browser",
    "afspraak.testing.smtp",
    "afspraak.testing.staticfiles",
    "afspraak.testing.tenants",
    "afspraak.testing.clock",
    "afspraak.testing.access",
]

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _master_keyset(tmp_path_factory):
    """Give the run a master keyset of its own, so no test reads or changes var/keys."""
    from django.conf import settings

    from afspraak.crypto.keyring import create_master_keyset
    from afspraak.crypto.keysets import clear_key_caches

    path = tmp_path_factory.mktemp("master-key") / "master.json"
    create_master_keyset(path)
    settings.AFSPRAAK_MASTER_KEYSET_FILE = path
    clear_key_caches()
    yield path
    clear_key_caches()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings, request):
    """Hash with MD5 in tests so a login costs microseconds, except in the hashing tests."""
    if "real_password_hasher" not in request.keywords:
        settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture(autouse=True)
def _no_static_file_scan(settings):
    """Skip WhiteNoise's scan of every static file, which each new test client repeats."""
    settings.WHITENOISE_AUTOREFRESH = True


@pytest.fixture(autouse=True)
def _immediate_jobs(settings):
    """Run Huey tasks inline so tests see their effects at once."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    yield
    HUEY.immediate = False


class HTTPSClient(Client):
    """A test client whose requests arrive over HTTPS, as every real request does."""

    def generic(self, *args, **kwargs):
        kwargs["secure"] = True
        return super().generic(*args, **kwargs)


@pytest.fixture
def client():
    return HTTPSClient()


@pytest.fixture(autouse=True)
def _empty_local_cache():
    """Start each test with an empty per-process cache.

    Its keys name ids and version numbers from the database, which a test's rollback
    hands out again for other rows; in production they only grow.
    """
    from django.core.cache import caches

    caches["local"].clear()

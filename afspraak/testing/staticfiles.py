"""Collect the static files once per test session into a directory of its own.

Pages name their static files through the manifest that ``collectstatic`` writes
(``CompressedManifestStaticFilesStorage``, as in production). A fresh clone has no
``var/static`` until ``afspraak setup`` runs, and a stale one lacks files added since,
so the session collects into a temporary directory instead and never reads ``var/``.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings


@pytest.fixture(scope="session", autouse=True)
def _collected_static_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point ``STATIC_ROOT`` at a fresh directory and run ``collectstatic`` into it."""
    root = tmp_path_factory.mktemp("static")
    # override_settings announces the change, so the storages built before drop the old root.
    with override_settings(STATIC_ROOT=root):
        call_command("collectstatic", interactive=False, verbosity=0)
        yield root

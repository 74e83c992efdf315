"""Fixtures for the server tests: a set-up var dir per test session, a real server per module."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from afspraak.server.tests.serving import ServeProcess, run_afspraak, serve_environment


@pytest.fixture(scope="session")
def serve_var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a var dir prepared by ``afspraak setup --no-demo`` (one per xdist worker)."""
    var_dir = tmp_path_factory.mktemp("serve-var")
    result = run_afspraak(serve_environment(var_dir, https_port=8443), "setup", "--no-demo")
    assert result.returncode == 0, result.stdout + result.stderr
    return var_dir


@pytest.fixture(scope="module")
def served(serve_var_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """Run one ``afspraak serve`` for the tests of a module, and stop it afterwards."""
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    server = ServeProcess.start(serve_var_dir, log)
    sys.stderr.write(f"\nafspraak serve accepted TLS after {server.startup_seconds:.2f}s\n")
    yield server
    server.stop()

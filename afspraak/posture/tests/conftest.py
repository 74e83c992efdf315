"""Fixtures of the posture tests: targets, and a real served instance for the network checks."""

from collections.abc import Iterator

import pytest

from afspraak.posture.results import Target
from afspraak.server.tests.serving import ServeProcess, run_afspraak, serve_environment


@pytest.fixture
def posture_target() -> Target:
    """A development target on a closed port (for checks that do not connect)."""
    return Target("127.0.0.1", 9, "localhost", "", production=False)


@pytest.fixture
def production_target() -> Target:
    """The same target in production mode, where "not configured" fails."""
    return Target("127.0.0.1", 9, "localhost", "", production=True)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """Run one real ``afspraak serve`` (set up in a var dir of its own) for a test module."""
    var_dir = tmp_path_factory.mktemp("posture-var")
    result = run_afspraak(serve_environment(var_dir, https_port=8443), "setup", "--no-demo")
    assert result.returncode == 0, result.stdout + result.stderr
    server = ServeProcess.start(var_dir, tmp_path_factory.mktemp("posture-log") / "serve.log")
    yield server
    server.stop()


@pytest.fixture
def served_target(served: ServeProcess) -> Target:
    """The target of the served instance: its port, its local CA, development mode."""
    return Target("127.0.0.1", served.https_port, "localhost", str(served.ca_file), False)

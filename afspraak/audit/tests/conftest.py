"""Fixtures of the audit tests: a real rsyslog receiver."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from afspraak.audit.tests.rsyslog import Rsyslog


@pytest.fixture
def rsyslog(tmp_path: Path) -> Iterator[Rsyslog]:
    """A running rsyslog on a free port of 127.0.0.1, taking syslog over TLS; stopped after."""
    receiver = Rsyslog(tmp_path / "rsyslog")
    receiver.start()
    yield receiver
    receiver.stop()

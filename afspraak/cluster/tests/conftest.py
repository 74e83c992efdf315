"""The cluster the tests share: started once per test run, stopped at its end."""

import sys
from collections.abc import Iterator

import pytest

from afspraak.cluster.shape import Cluster, running_cluster

# The load test books many times from one address (HAProxy's); the public pages' limit
# per address would refuse all but the first 30 in an hour.
TEST_SETTINGS = {"AFSPRAAK_BOOKING_IP_RATE": "100000/m/ip"}


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Run two app nodes, a job consumer, Redis, PostgreSQL and HAProxy for the session."""
    with running_cluster(tmp_path_factory.mktemp("cluster"), settings=TEST_SETTINGS) as running:
        sys.stderr.write(f"\ncluster ready after {running.startup_seconds:.1f} s\n")
        yield running

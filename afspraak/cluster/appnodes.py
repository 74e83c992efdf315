"""Stateless app nodes (gunicorn, plain HTTP on loopback behind HAProxy) and one job consumer.

Every node runs the same code with the same environment: the database, Redis (cache,
counters, job queue) and the master key directory are shared, so any node may answer
any request and a node can be restarted without anyone noticing. A rolling restart
takes one node at a time out of HAProxy, lets its requests finish, restarts it, waits
until HAProxy's health check finds it up, and only then moves on
(docs/runbooks/rolling-upgrade.md).
"""

import dataclasses
import http.client
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from afspraak.cluster.haproxy import HAProxy
from afspraak.cluster.loopback import LOOPBACK, ClusterError, free_port, wait_until
from afspraak.server import processes
from afspraak.server.supervisor import ChildSpec, Supervisor

READY_TIMEOUT_SECONDS = 120
# Longer than gunicorn's graceful_timeout (20 s): its own clean stop always wins.
STOP_TIMEOUT_SECONDS = 30
DRAIN_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class NodeRestart:
    """How one node's turn in a rolling restart went, in seconds."""

    node: str
    drain: float  # from "drain" until its last request was answered
    restart: float  # from the stop signal until /healthz answered again
    back_in_service: float  # from "ready" until HAProxy's health check found it up


class AppNode:
    """One gunicorn serving the app over plain HTTP on a loopback port."""

    def __init__(
        self, name: str, environment: Mapping[str, str], log_dir: Path, workers: int, threads: int
    ) -> None:
        self.name = name
        self.port = free_port()
        self._spec = ChildSpec(
            name=f"app node {name} (gunicorn)",
            argv=[
                sys.executable,
                "-m",
                "gunicorn",
                "--config",
                processes.GUNICORN_CONFIG,
                "--bind",
                processes.bind_address(LOOPBACK, self.port),
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                processes.WSGI_APPLICATION,
            ],
            env=dict(environment),
            log_file=log_dir / f"{name}.log",
        )
        self._supervisor: Supervisor | None = None
        # The health check names the site's host, as HAProxy's does (it must be allowed).
        self._site_host = urlsplit(environment.get("AFSPRAAK_SITE_URL", "")).hostname or "localhost"

    @property
    def address(self) -> str:
        """Return ``host:port`` of the node, as HAProxy's server line names it."""
        return processes.bind_address(LOOPBACK, self.port)

    @property
    def pids(self) -> list[int]:
        """Return the process id of the node's gunicorn master (empty when stopped)."""
        return self._supervisor.pids if self._supervisor else []

    def start(self) -> None:
        """Start gunicorn (returns at once; ``wait_until_healthy`` waits for it)."""
        self._supervisor = Supervisor([self._spec], stop_timeout=STOP_TIMEOUT_SECONDS)
        self._supervisor.start()

    def wait_until_healthy(self, timeout: float = READY_TIMEOUT_SECONDS) -> float:
        """Wait until the node answers its health check; return the wait."""
        return wait_until(
            self.is_healthy,
            what=f"app node {self.name} (log: {self._spec.log_file})",
            timeout=timeout,
            is_alive=lambda: self._supervisor is not None and self.failure() is None,
        )

    def is_healthy(self) -> bool:
        """Tell whether the node answers /healthz with 200, as HAProxy's check asks it."""
        connection = http.client.HTTPConnection(LOOPBACK, self.port, timeout=5)
        try:
            connection.request(
                "GET", "/healthz", headers={"Host": self._site_host, "X-Forwarded-Proto": "https"}
            )
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def failure(self) -> str | None:
        """Tell how gunicorn stopped, if it stopped on its own; None while it runs."""
        return self._supervisor.failure() if self._supervisor else None

    def stop(self) -> None:
        """Stop gunicorn gracefully (requests in flight finish); raise if it was not clean."""
        if self._supervisor is None:
            return
        problems = self._supervisor.stop()
        self._supervisor = None
        if problems:
            raise ClusterError(f"app node {self.name}: {'; '.join(problems)}")


class AppNodes:
    """N app nodes and one Huey job consumer, all with the same environment."""

    def __init__(
        self,
        environment: Mapping[str, str],
        log_dir: Path,
        *,
        count: int = 2,
        workers: int = 1,
        threads: int = 4,
    ) -> None:
        if count < 1:
            raise ClusterError(f"an app cluster needs at least one node, not {count}")
        log_dir.mkdir(parents=True, exist_ok=True)
        self.nodes = [
            AppNode(f"app{number}", environment, log_dir, workers, threads)
            for number in range(1, count + 1)
        ]
        self._consumer = Supervisor(
            [
                dataclasses.replace(
                    processes.job_consumer(),
                    env=dict(environment),
                    log_file=log_dir / "job-consumer.log",
                )
            ],
            stop_timeout=STOP_TIMEOUT_SECONDS,
        )

    @property
    def addresses(self) -> list[str]:
        """Return every node's ``host:port``, in order."""
        return [node.address for node in self.nodes]

    def start(self) -> None:
        """Start every node and the job consumer; return when every node is healthy."""
        for node in self.nodes:
            node.start()
        self._consumer.start()
        for node in self.nodes:
            node.wait_until_healthy()
        # By now (the nodes took seconds) a consumer that cannot start has exited.
        failure = self._consumer.failure()
        if failure:
            raise ClusterError(failure)

    def failure(self) -> str | None:
        """Tell the story of a node or the consumer that stopped on its own, or None."""
        for node in self.nodes:
            if failure := node.failure():
                return failure
        return self._consumer.failure()

    def stop(self) -> list[str]:
        """Stop the consumer and every node; return what did not stop cleanly."""
        problems = self._consumer.stop()
        for node in self.nodes:
            try:
                node.stop()
            except ClusterError as error:
                problems.append(str(error))
        return problems

    def restart_rolling(
        self, proxy: HAProxy, *, drain_timeout: float = DRAIN_TIMEOUT_SECONDS
    ) -> list[NodeRestart]:
        """Restart one node after another, each out of HAProxy while it restarts; report each."""
        figures = []
        for node in self.nodes:
            # Taking a node out while another is down could leave nobody serving.
            down = [
                name
                for name, state in proxy.servers().items()
                if name != node.name and state.status != "UP"
            ]
            if down:
                raise ClusterError(
                    f"not restarting {node.name}: {', '.join(down)} not up in HAProxy"
                )
            proxy.set_state(node.name, "drain")
            drain = proxy.wait_until_idle(node.name, drain_timeout)
            started = time.monotonic()
            node.stop()
            node.start()
            node.wait_until_healthy()
            restart = time.monotonic() - started
            proxy.set_state(node.name, "ready")
            back = proxy.wait_until_up(node.name, READY_TIMEOUT_SECONDS)
            figures.append(NodeRestart(node.name, drain, restart, back))
        return figures

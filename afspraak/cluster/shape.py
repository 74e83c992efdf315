"""The production shape on one machine: database, Redis, app nodes, a job consumer, HAProxy.

The database is a Patroni pair, Redis a primary and a replica under three sentinels: each
loses a server without the app losing its way.

``running_cluster`` starts the parts in the order they depend on each other, sets the
database up with ``afspraak setup`` (migrations, keys, the local certificate, demo
data), and stops everything in reverse order when the block ends, Ctrl-C included.
``make cluster`` runs it (``python -m afspraak.cluster``); the cluster tests use the
very same function.
"""

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from afspraak.cluster.appnodes import AppNodes, NodeRestart
from afspraak.cluster.haproxy import HAProxy, running_haproxy
from afspraak.cluster.loopback import ClusterError, free_port
from afspraak.cluster.patroni import PatroniPair, running_patroni_pair
from afspraak.cluster.redis import RedisPair, running_redis_pair
from afspraak.server import processes
from afspraak.server.certificates import local_tls_files

SETUP_TIMEOUT_SECONDS = 600
# What a node's environment holds beyond the inherited one (libpq's PGSSLROOTCERT among it).
NODE_SETTING_PREFIXES = ("AFSPRAAK_", "PG", "DJANGO_SETTINGS_MODULE")


@dataclass
class Cluster:
    """A running cluster: where to reach it, how to log in, and handles on every part."""

    directory: Path
    url: str
    ca_file: Path
    demo_email: str
    demo_password: str
    environment: dict[str, str]
    # The nodes' settings as shell assignments, for an operator's `afspraak` commands.
    environment_file: Path
    database: PatroniPair
    redis: RedisPair
    nodes: AppNodes
    proxy: HAProxy
    startup_seconds: float = field(default=0.0)

    def restart_rolling(self) -> list[NodeRestart]:
        """Restart the app nodes one at a time, each out of HAProxy meanwhile."""
        return self.nodes.restart_rolling(self.proxy)

    def failure(self) -> str | None:
        """Tell the story of an app node or the job consumer that stopped, or None."""
        return self.nodes.failure()

    def root_processes(self) -> list[int]:
        """Return the pids whose descendants are every server of the cluster."""
        # This process started every server; Patroni detaches each postmaster it starts
        # (so PostgreSQL outlives a Patroni crash), which makes them roots of their own.
        postmasters = [
            pid for node in self.database.nodes.values() if (pid := node.postmaster_pid())
        ]
        return [os.getpid(), *postmasters]


def cluster_environment(
    directory: Path, site_url: str, redis: RedisPair, database: Mapping[str, str]
) -> dict[str, str]:
    """Return the environment every app node and the job consumer run with."""
    # Settings of the caller's shell (or of a test run) must not leak into the nodes.
    inherited = {
        name: value
        for name, value in processes.child_environment().items()
        if not name.startswith("AFSPRAAK_")
    }
    return inherited | {
        "DJANGO_SETTINGS_MODULE": "afspraak.settings",
        "AFSPRAAK_VAR_DIR": str(directory / "var"),
        "AFSPRAAK_SITE_URL": site_url,
        **redis.settings(),
        # Behind HAProxy: the scheme comes from its X-Forwarded-Proto, the client's
        # address from the one X-Forwarded-For entry it appends.
        "AFSPRAAK_TRUST_X_FORWARDED_PROTO": "true",
        "AFSPRAAK_PROXY_COUNT": "1",
        "AFSPRAAK_HUEY_WORKERS": "1",
        **database,
    }


@contextmanager
def running_cluster(
    directory: Path,
    *,
    https_port: int = 0,
    node_count: int = 2,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Cluster]:
    """Run the whole shape in ``directory`` with HTTPS on ``https_port`` (0: any free port)."""
    started = time.monotonic()
    https_port = https_port or free_port()
    site_url = f"https://localhost:{https_port}"
    directory.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        database = stack.enter_context(running_patroni_pair(_postgres_directory(stack)))
        redis = stack.enter_context(running_redis_pair(directory / "redis"))
        overrides = dict(settings or {})
        # The owner migrates and loads the demo data; the nodes sign in as the application
        # role, which owns no table and cannot bypass row-level security.
        _set_up(
            cluster_environment(directory, site_url, redis, database.database_settings("owner"))
            | overrides,
            directory / "setup.log",
        )
        environment = (
            cluster_environment(directory, site_url, redis, database.database_settings("app"))
            | overrides
        )
        var_dir = Path(environment["AFSPRAAK_VAR_DIR"])
        email, password = (var_dir / "demo-login.txt").read_text(encoding="utf-8").split("\n")[:2]
        environment_file = _write_environment_file(directory / "node.env", environment)
        nodes = AppNodes(environment, directory / "logs", count=node_count)
        stack.callback(_stop_nodes, nodes)
        nodes.start()
        tls = local_tls_files(var_dir / "tls")
        proxy = stack.enter_context(
            running_haproxy(
                directory / "haproxy",
                nodes=nodes.addresses,
                site_url=site_url,
                https_port=https_port,
                tls_cert=tls.server_cert,
                tls_key=tls.server_key,
            )
        )
        yield Cluster(
            directory=directory,
            url=site_url,
            ca_file=tls.ca_cert,
            demo_email=email,
            demo_password=password,
            environment=environment,
            environment_file=environment_file,
            database=database,
            redis=redis,
            nodes=nodes,
            proxy=proxy,
            startup_seconds=time.monotonic() - started,
        )


def node_settings(environment: Mapping[str, str]) -> dict[str, str]:
    """Return the nodes' own settings: Afspraak's, libpq's and the settings module."""
    return {
        name: value for name, value in environment.items() if name.startswith(NODE_SETTING_PREFIXES)
    }


def _write_environment_file(path: Path, environment: Mapping[str, str]) -> Path:
    """Write the nodes' own settings (not the inherited PATH and such) readable by us only."""
    # Created 0600 before the database password is written into it.
    path.touch(mode=0o600)
    path.write_text(
        "".join(
            f"{name}={shlex.quote(value)}\n"
            for name, value in sorted(node_settings(environment).items())
        ),
        encoding="utf-8",
    )
    return path


def _postgres_directory(stack: ExitStack) -> Path:
    """Return a new directory the postgres user can reach (a caller's may be closed to it)."""
    directory = Path(tempfile.mkdtemp(prefix="afspraak-cluster-postgres-"))
    directory.chmod(0o755)
    stack.callback(shutil.rmtree, directory, ignore_errors=True)
    return directory


def _set_up(environment: Mapping[str, str], log: Path) -> None:
    """Run ``afspraak setup``: migrations, keys, the local certificate and the demo data."""
    with log.open("wb") as output:
        result = subprocess.run(
            [sys.executable, "-m", "afspraak.cli", "setup"],
            env=dict(environment),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=SETUP_TIMEOUT_SECONDS,
            check=False,
        )
    if result.returncode != 0:
        raise ClusterError(
            f"afspraak setup failed (exit {result.returncode}):\n{log.read_text(errors='replace')}"
        )


def _stop_nodes(nodes: AppNodes) -> None:
    problems = nodes.stop()
    if problems:
        print("cluster: " + "; ".join(problems), file=sys.stderr)

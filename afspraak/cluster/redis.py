"""Redis for the app nodes' cache, rate-limit and TOTP counters and job queue.

``running_redis`` starts one server; ``running_redis_pair`` the production shape: a primary,
a replica and three sentinels that promote the replica when the primary is lost (no single
point of failure, control D7), which the app finds through ``AFSPRAAK_REDIS_SENTINELS``.
Nothing is persisted (``--save ''``, no append-only file): the counters and queue of a
loopback cluster live as long as it does. Production's configuration is
``deploy/redis/redis.conf``.
"""

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import redis as redis_client

from afspraak.cluster.loopback import LOOPBACK, ClusterError, free_port, wait_until
from afspraak.cluster.processes import ServerProcess, start_server
from afspraak.server.supervisor import ChildSpec, Supervisor

READY_TIMEOUT_SECONDS = 30
STOP_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class RedisServer:
    """Where the running Redis listens and the URL (password included) that reaches it."""

    port: int
    password: str
    log_file: Path

    @property
    def url(self) -> str:
        """Return the ``AFSPRAAK_REDIS_URL`` for this server."""
        return f"redis://:{self.password}@{LOOPBACK}:{self.port}/0"

    def answers(self) -> bool:
        """Tell whether the server accepts the password and answers a PING."""
        try:
            return bool(redis_client.Redis.from_url(self.url, socket_timeout=2).ping())
        except redis_client.RedisError:
            return False


@contextmanager
def running_redis(directory: Path) -> Iterator[RedisServer]:
    """Run redis-server on a free loopback port with a password, until the block ends."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise ClusterError(
            "redis-server is not installed: run scripts/ensure-system-packages.sh test"
        )
    directory.mkdir(parents=True, exist_ok=True)
    server = RedisServer(free_port(), secrets.token_urlsafe(32), directory / "redis.log")
    # The password sits in a file only we can read, not on the command line `ps` shows.
    config = directory / "redis.conf"
    config.touch(mode=0o600)
    config.write_text(
        f"bind {LOOPBACK}\nport {server.port}\nprotected-mode yes\nrequirepass {server.password}\n"
        f"save ''\nappendonly no\ndir {directory}\n",
        encoding="utf-8",
    )
    supervisor = Supervisor(
        [
            ChildSpec(
                name="Redis",
                argv=[executable, str(config)],
                env={},
                log_file=server.log_file,
            )
        ],
        stop_timeout=STOP_TIMEOUT_SECONDS,
    )
    supervisor.start()
    try:
        wait_until(
            server.answers,
            what="Redis",
            timeout=READY_TIMEOUT_SECONDS,
            is_alive=lambda: supervisor.failure() is None,
        )
        yield server
    finally:
        supervisor.stop()


SERVICE = "afspraak"
SENTINEL_COUNT = 3
# Sentinels agree that the primary is down after this long without an answer, and two of
# the three must agree (a quorum) before one of them promotes the replica.
DOWN_AFTER_MILLISECONDS = 1000
QUORUM = 2
FAILOVER_TIMEOUT_SECONDS = 30


@dataclass
class RedisPair:
    """A Redis primary and its replica, watched by three sentinels that fail over between them."""

    directory: Path
    password: str
    server_ports: dict[str, int]
    sentinel_ports: list[int]
    processes: dict[str, ServerProcess]

    @property
    def url(self) -> str:
        """Return the ``AFSPRAAK_REDIS_URL``: it names the service the sentinels watch."""
        return f"redis://:{self.password}@{SERVICE}/0"

    @property
    def sentinels(self) -> str:
        """Return the ``AFSPRAAK_REDIS_SENTINELS`` that reach the sentinels."""
        return ",".join(f"{LOOPBACK}:{port}" for port in self.sentinel_ports)

    def settings(self) -> dict[str, str]:
        """Return the app's Redis settings for this pair."""
        return {"AFSPRAAK_REDIS_URL": self.url, "AFSPRAAK_REDIS_SENTINELS": self.sentinels}

    def primary(self) -> str | None:
        """Return the name of the server the sentinels call the primary, or None."""
        for port in self.sentinel_ports:
            sentinel = redis_client.Redis(
                host=LOOPBACK, port=port, password=self.password, socket_timeout=2
            )
            try:
                address = sentinel.sentinel_get_master_addr_by_name(SERVICE)
            except redis_client.RedisError:
                continue  # this sentinel is down: ask the next
            finally:
                sentinel.close()
            if not isinstance(address, tuple | list):
                continue  # this sentinel knows no primary yet
            for name, server_port in self.server_ports.items():
                if server_port == int(address[1]):
                    return name
        return None

    def client(self, name: str) -> redis_client.Redis:
        """Return a client of one server (``primary`` or ``replica``), not of the service."""
        return redis_client.Redis(
            host=LOOPBACK, port=self.server_ports[name], password=self.password, socket_timeout=2
        )

    def kill(self, name: str) -> None:
        """Kill one server at once (SIGKILL), as a crashed machine would lose it."""
        self.processes[name].kill()

    def wait_for_primary(self, name: str, timeout: float = FAILOVER_TIMEOUT_SECONDS) -> float:
        """Wait until the sentinels name ``name`` primary and it takes writes; return seconds."""

        def promoted() -> bool:
            if self.primary() != name:
                return False
            try:
                return self.client(name).info("replication")["role"] == "master"
            except redis_client.RedisError:
                return False

        return wait_until(promoted, what=f"Redis {name} as the primary", timeout=timeout)

    def stop(self) -> None:
        """Stop the sentinels first (so none fails over a stopping server), then the servers."""
        for process in reversed(list(self.processes.values())):
            process.stop(timeout=STOP_TIMEOUT_SECONDS)


@contextmanager
def running_redis_pair(directory: Path) -> Iterator[RedisPair]:
    """Run a Redis primary, a replica and three sentinels on loopback until the block ends."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise ClusterError(
            "redis-server is not installed: run scripts/ensure-system-packages.sh test"
        )
    directory.mkdir(parents=True, exist_ok=True)
    pair = RedisPair(
        directory=directory,
        password=secrets.token_urlsafe(32),
        server_ports={"primary": free_port(), "replica": free_port()},
        sentinel_ports=[free_port() for _ in range(SENTINEL_COUNT)],
        processes={},
    )
    try:
        for name, port in pair.server_ports.items():
            follows = None if name == "primary" else pair.server_ports["primary"]
            config = _server_config(directory / name, port, pair.password, follows)
            pair.processes[name] = _start(executable, name, config, directory)
            wait_until(
                partial(_answers, pair.client(name)),
                what=f"Redis {name}",
                timeout=READY_TIMEOUT_SECONDS,
                is_alive=pair.processes[name].is_running,
            )
        for index, port in enumerate(pair.sentinel_ports):
            name = f"sentinel{index + 1}"
            config = _sentinel_config(
                directory / name, port, pair.password, pair.server_ports["primary"]
            )
            pair.processes[name] = _start(executable, name, config, directory, "--sentinel")
        wait_until(
            lambda: pair.primary() == "primary" and _replica_synced(pair),
            what="Redis sentinels watching a synced replica",
            timeout=READY_TIMEOUT_SECONDS,
        )
        yield pair
    finally:
        pair.stop()


def _answers(client: redis_client.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis_client.RedisError:
        return False


def _replica_synced(pair: RedisPair) -> bool:
    try:
        status = pair.client("replica").info("replication")
    except redis_client.RedisError:
        return False
    return status.get("master_link_status") == "up"


def _private_config(directory: Path, text: str) -> Path:
    # The password sits in a file only we can read, not on the command line `ps` shows.
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "redis.conf"
    config.touch(mode=0o600)
    config.write_text(text, encoding="utf-8")
    return config


def _server_config(directory: Path, port: int, password: str, follows: int | None) -> Path:
    # Either may be demoted to a replica after a failover, so both know the password
    # that replication needs (masterauth).
    text = (
        f"bind {LOOPBACK}\nport {port}\nprotected-mode yes\nrequirepass {password}\n"
        f"masterauth {password}\nsave ''\nappendonly no\ndir {directory}\n"
    )
    if follows is not None:
        text += f"replicaof {LOOPBACK} {follows}\n"
    return _private_config(directory, text)


def _sentinel_config(directory: Path, port: int, password: str, primary_port: int) -> Path:
    # A sentinel rewrites its own file as it learns the cluster: it must stay writable.
    return _private_config(
        directory,
        f"bind {LOOPBACK}\nport {port}\nprotected-mode yes\nrequirepass {password}\n"
        f"dir {directory}\n"
        f"sentinel monitor {SERVICE} {LOOPBACK} {primary_port} {QUORUM}\n"
        f"sentinel auth-pass {SERVICE} {password}\n"
        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MILLISECONDS}\n"
        f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_SECONDS * 1000}\n"
        f"sentinel parallel-syncs {SERVICE} 1\n",
    )


def _start(executable: str, name: str, config: Path, directory: Path, *flags: str) -> ServerProcess:
    return start_server(
        f"redis-{name}",
        [executable, str(config), *flags],
        directory=directory,
        log_file=config.parent / f"{name}.log",
    )

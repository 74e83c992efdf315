"""A Redis server for the app nodes' cache, rate-limit and TOTP counters and job queue.

Nothing is persisted (``--save ''``, no append-only file): the counters and queue of a
loopback cluster live as long as it does. Production's configuration is
``deploy/redis/redis.conf``.
"""

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis as redis_client

from afspraak.cluster.loopback import LOOPBACK, ClusterError, free_port, wait_until
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

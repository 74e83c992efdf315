"""What every part of the loopback cluster needs: free ports and waiting for a server to answer."""

import socket
import time
from collections.abc import Callable

LOOPBACK = "127.0.0.1"


class ClusterError(RuntimeError):
    """A part of the cluster could not start or misbehaved; the message says which and why."""


class ClusterTimeoutError(ClusterError, TimeoutError):
    """A part of the cluster did not become ready in time."""


def free_port() -> int:
    """Return a TCP port on the loopback address that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def wait_until(
    is_ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    is_alive: Callable[[], bool] = lambda: True,
    interval: float = 0.1,
) -> float:
    """Poll ``is_ready`` until it holds; return the seconds it took, or raise if it never does."""
    started = time.monotonic()
    while not is_ready():
        if not is_alive():
            raise ClusterError(f"{what}: the process exited while starting")
        if time.monotonic() - started > timeout:
            raise ClusterTimeoutError(f"{what}: not ready after {timeout:g} s")
        time.sleep(interval)
    return time.monotonic() - started

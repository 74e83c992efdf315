"""Start the cluster's servers as child processes that cannot outlive the process that started them.

Every server gets a session of its own (a Ctrl-C at the terminal reaches the starter, which
stops them in order) and the parent-death signal SIGKILL. Processes a server forks itself
(PostgreSQL under Patroni) are not covered by that signal: a :class:`Watchdog` holds a pipe
only the starter writes to and, when it closes however the starter ended, kills every
process whose pid file lies under the cluster's directory and whose command line names it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pwd
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

_PR_SET_PDEATHSIG = 1
PID_DIR = "pids"


def _die_with_parent() -> Callable[[], None]:
    # Resolved before the fork: the hook itself must only make system calls. It runs after
    # the switch to another user, which would otherwise clear the parent-death signal.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
        if os.getppid() != parent:
            os._exit(1)

    return hook


class ServerProcess:
    """One server started by :func:`start_server`; its pid file lives in the cluster directory."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], pid_file: Path) -> None:
        self.name = name
        self.popen = popen
        self.pid_file = pid_file

    @property
    def pid(self) -> int:
        return self.popen.pid

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        """Kill the server and its process group at once (SIGKILL)."""
        _kill_group(self.popen.pid)
        self.popen.wait(timeout=10)
        self.pid_file.unlink(missing_ok=True)

    def terminate(self) -> None:
        """Ask the server to stop (SIGTERM) without waiting."""
        if self.is_running():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.popen.pid, signal.SIGTERM)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the server to stop (SIGTERM); kill it if it has not stopped within ``timeout``."""
        if self.is_running():
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.kill()


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def start_server(
    name: str,
    command: list[str],
    *,
    directory: Path,
    log_file: Path,
    run_as: str | None = None,
    environment: Mapping[str, str] | None = None,
) -> ServerProcess:
    """Start ``command`` as ``name`` (as user ``run_as`` when given), its output in ``log_file``."""
    pid_dir = directory / PID_DIR
    pid_dir.mkdir(exist_ok=True)
    account = pwd.getpwnam(run_as) if run_as else None
    with log_file.open("ab") as log:
        popen = subprocess.Popen(  # noqa: S603 (fixed argument lists of installed servers)
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(log_file.parent),
            env=dict(environment) if environment is not None else None,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
    pid_file = pid_dir / f"{name}.pid"
    pid_file.write_text(f"{popen.pid}\n", encoding="utf-8")
    return ServerProcess(name, popen, pid_file)


def kill_pid_file(pid_file: Path, directory: Path) -> None:
    """SIGKILL the process a pid file names, if its command line names ``directory``."""
    try:
        pid = int(pid_file.read_text(encoding="utf-8").split()[0])
        command_line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except (OSError, ValueError, IndexError):
        return
    # A pid file left behind may name a pid the system has since given to another process.
    if str(directory).encode() not in command_line:
        return
    _kill_group(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


def kill_everything_under(directory: Path) -> None:
    """Kill every server whose pid file lies under ``directory``."""
    for pid_file in sorted(directory.rglob("*.pid")):
        kill_pid_file(pid_file, directory)


class Watchdog:
    """A process that kills what is left under a directory once this process has ended."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        # The watchdog holds the read end of a pipe only this process writes to: the pipe
        # closes when this process ends, however it ends, and the watchdog then cleans up.
        self._popen = subprocess.Popen(  # noqa: S603 (this module, run by this interpreter)
            [sys.executable, "-m", __name__, "--watchdog", json.dumps(str(directory))],
            stdin=subprocess.PIPE,
            start_new_session=True,
            cwd="/",
        )

    def close(self) -> None:
        """Let the watchdog clean up now and wait for it."""
        if self._popen.stdin is not None:
            self._popen.stdin.close()
        try:
            self._popen.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._popen.kill()


def _watchdog_main(directory_json: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    directory = Path(json.loads(directory_json))
    sys.stdin.buffer.read()
    kill_everything_under(directory)


if __name__ == "__main__" and sys.argv[1:2] == ["--watchdog"]:
    _watchdog_main(sys.argv[2])

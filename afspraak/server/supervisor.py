"""Run a set of child processes as one service: they start together and stop together.

Each child runs in its own session, so a Ctrl-C on the terminal reaches only the
supervisor, which then stops every child in order; and each child's whole process
group (a gunicorn master and its workers) can be made to vanish. A child that dies
on its own stops the rest: half a server (web without jobs, or jobs without web)
must not look healthy. Should the supervisor itself be killed, Linux sends each
child its stop signal (``PR_SET_PDEATHSIG``), so nothing lingers.
"""

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class ChildSpec:
    """What to run, under which name, which signal asks it to stop, and where its output goes."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    stop_signal: signal.Signals = signal.SIGTERM
    # Appended to, stdout and stderr together; None leaves them on the supervisor's own.
    log_file: Path | None = None


@dataclass
class _Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    killed: bool = field(default=False)


def describe_exit(returncode: int) -> str:
    """Say how a process ended, from its return code."""
    if returncode >= 0:
        return f"exit code {returncode}"
    try:
        return f"killed by {signal.Signals(-returncode).name}"
    except ValueError:
        return f"killed by signal {-returncode}"


def _stop_with_parent(stop_signal: signal.Signals) -> Callable[[], None] | None:
    """Return a pre-exec hook that makes the child receive ``stop_signal`` if we die."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved before the fork: the hook itself must only make a system call.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, int(stop_signal))
        if os.getppid() != parent:
            # The parent died before the hook ran, so the death signal will never come.
            os._exit(1)

    return hook


class Supervisor:
    """Start children, watch them, and stop them all on request or when one fails."""

    def __init__(
        self, specs: Sequence[ChildSpec], *, stop_timeout: float, poll_interval: float = 0.1
    ) -> None:
        self._specs = list(specs)
        self._stop_timeout = stop_timeout
        self._poll_interval = poll_interval
        self._children: list[_Child] = []
        self._stop_requests = 0

    @property
    def stop_requested(self) -> bool:
        """Tell whether a stop signal (or ``request_stop``) has arrived."""
        return self._stop_requests > 0

    @property
    def pids(self) -> list[int]:
        """Return the process ids of the children started so far."""
        return [child.process.pid for child in self._children]

    def request_stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        """Ask the supervisor to stop; a second request hurries the stop along (kills)."""
        # A signal handler: it only counts, because the main loop may be interrupted anywhere.
        self._stop_requests += 1

    @contextmanager
    def stopping_on_signals(self) -> Iterator[None]:
        """Turn SIGINT, SIGTERM and SIGHUP into stop requests while the block runs."""
        previous = {signum: signal.signal(signum, self.request_stop) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def start(self) -> None:
        """Start every child, unless a stop was requested meanwhile."""
        for spec in self._specs:
            if self.stop_requested:
                return
            self._children.append(_Child(spec, _spawn(spec)))

    def wait(self, watched: Mapping[str, Callable[[], bool]] | None = None) -> str | None:
        """Block until a stop is requested (None) or a child or watched part fails (its story)."""
        watched = watched or {}
        while not self.stop_requested:
            failure = self.failure()
            if failure is not None and not self.stop_requested:
                return failure
            for name, is_alive in watched.items():
                if not is_alive() and not self.stop_requested:
                    return f"{name} stopped unexpectedly"
            time.sleep(self._poll_interval)
        return None

    def failure(self) -> str | None:
        """Tell the story of the first child that has exited, or None while all run."""
        for child in self._children:
            returncode = child.process.poll()
            if returncode is not None:
                return f"{child.spec.name} stopped unexpectedly ({describe_exit(returncode)})"
        return None

    def stop(self) -> list[str]:
        """Stop every child and wait for it; return what did not go cleanly."""
        problems: list[str] = []
        running = [child for child in self._children if child.process.poll() is None]
        for child in running:
            _signal_child(child, child.spec.stop_signal)
        requests_at_start = self._stop_requests
        deadline = time.monotonic() + self._stop_timeout
        while any(child.process.poll() is None for child in running):
            hurried = self._stop_requests > requests_at_start
            if hurried or time.monotonic() >= deadline:
                reason = "on a second stop request" if hurried else f"after {self._stop_timeout:g}s"
                for child in running:
                    if child.process.poll() is None:
                        child.killed = True
                        _kill_group(child)
                        problems.append(f"{child.spec.name} did not stop: killed {reason}")
                break
            time.sleep(self._poll_interval)
        for child in running:
            returncode = child.process.wait()
            if child.killed:
                continue
            if _kill_group(child):
                problems.append(f"{child.spec.name} left processes behind: killed them")
            # Dying of the very signal that asked it to stop (it came before the child
            # had set up its handling, say during start-up) is stopping as asked.
            if returncode not in (0, -child.spec.stop_signal):
                problems.append(f"{child.spec.name} stopped with {describe_exit(returncode)}")
        for child in self._children:
            if child not in running:
                _kill_group(child)
        return problems


def _spawn(spec: ChildSpec) -> subprocess.Popen[bytes]:
    """Start one child in a session of its own, tied to this process's life."""
    output = spec.log_file.open("ab") if spec.log_file else None
    try:
        return subprocess.Popen(  # noqa: S603 (argv built by our own callers, no shell)
            list(spec.argv),
            env=dict(spec.env),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
            preexec_fn=_stop_with_parent(spec.stop_signal),
        )
    finally:
        if output:
            output.close()


def _signal_child(child: _Child, signum: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        child.process.send_signal(signum)


def _kill_group(child: _Child) -> bool:
    """Kill whatever is left of the child's process group; tell if anything was."""
    # The group id is the child's pid (it leads its own session). The kernel does not
    # hand that id to a new process while any member of the group lives, so this
    # cannot hit an unrelated process even after the leader has been reaped.
    try:
        os.killpg(child.process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True

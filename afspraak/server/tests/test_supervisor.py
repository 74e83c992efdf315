"""The supervisor starts children together, stops them together and leaves none behind."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from afspraak.server.supervisor import ChildSpec, Supervisor
from afspraak.server.tests.serving import is_running

# Each child touches the file named by its first argument once its signal handling is set,
# so a test never signals a child that is still starting.
POLITE = (
    "import pathlib, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "pathlib.Path(sys.argv[1]).touch()\n"
    "time.sleep(60)\n"
)
STUBBORN = (
    "import pathlib, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "pathlib.Path(sys.argv[1]).touch()\n"
    "time.sleep(60)\n"
)
# Leaves a grandchild in its process group when asked to stop, as a careless server might.
CARELESS = (
    "import os, pathlib, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))\n"
    "if os.fork() == 0:\n"
    "    time.sleep(60)\n"
    "    os._exit(0)\n"
    "pathlib.Path(sys.argv[1]).touch()\n"
    "time.sleep(60)\n"
)


def python_child(name: str, code: str, ready: Path) -> ChildSpec:
    return ChildSpec(name=name, argv=[sys.executable, "-c", code, str(ready)], env=dict(os.environ))


def wait_until(condition, seconds: float = 20) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def group_members(pgid: int) -> list[int]:
    """Return the live processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and is_running(int(entry)):
            try:
                if os.getpgid(int(entry)) == pgid:
                    members.append(int(entry))
            except ProcessLookupError:
                continue
    return members


def test_a_requested_stop_ends_every_child_cleanly(tmp_path: Path):
    supervisor = Supervisor(
        [
            python_child("one", POLITE, tmp_path / "one"),
            python_child("two", POLITE, tmp_path / "two"),
        ],
        stop_timeout=10,
    )
    supervisor.start()
    wait_until(lambda: (tmp_path / "one").exists() and (tmp_path / "two").exists())
    supervisor.request_stop()

    assert supervisor.wait() is None
    assert supervisor.stop() == []
    assert not any(is_running(pid) for pid in supervisor.pids)


def test_a_child_that_dies_is_reported_and_the_others_are_stopped(tmp_path: Path):
    supervisor = Supervisor(
        [
            python_child("web", POLITE, tmp_path / "web"),
            python_child("jobs", "import sys; sys.exit(3)", tmp_path / "jobs"),
        ],
        stop_timeout=10,
    )
    supervisor.start()
    wait_until((tmp_path / "web").exists)

    failure = supervisor.wait()
    problems = supervisor.stop()

    assert failure == "jobs stopped unexpectedly (exit code 3)"
    assert problems == []
    assert not any(is_running(pid) for pid in supervisor.pids)


def test_a_watched_part_that_stops_is_reported(tmp_path: Path):
    supervisor = Supervisor([python_child("web", POLITE, tmp_path / "web")], stop_timeout=10)
    supervisor.start()
    wait_until((tmp_path / "web").exists)

    failure = supervisor.wait({"redirect listener": lambda: False})
    problems = supervisor.stop()

    assert failure == "redirect listener stopped unexpectedly"
    assert problems == []


def test_a_child_that_ignores_its_stop_signal_is_killed_after_the_timeout(tmp_path: Path):
    supervisor = Supervisor(
        [python_child("stubborn", STUBBORN, tmp_path / "stubborn")], stop_timeout=0.5
    )
    supervisor.start()
    wait_until((tmp_path / "stubborn").exists)

    problems = supervisor.stop()

    assert problems == ["stubborn did not stop: killed after 0.5s"]
    assert not any(is_running(pid) for pid in supervisor.pids)


def test_a_second_stop_request_kills_at_once(tmp_path: Path):
    supervisor = Supervisor(
        [python_child("stubborn", STUBBORN, tmp_path / "stubborn")], stop_timeout=60
    )
    supervisor.start()
    wait_until((tmp_path / "stubborn").exists)
    supervisor.request_stop()
    threading.Timer(0.3, supervisor.request_stop).start()

    started = time.monotonic()
    problems = supervisor.stop()

    assert time.monotonic() - started < 30
    assert problems == ["stubborn did not stop: killed on a second stop request"]


def test_processes_left_in_a_childs_group_are_killed(tmp_path: Path):
    supervisor = Supervisor(
        [python_child("careless", CARELESS, tmp_path / "careless")], stop_timeout=10
    )
    supervisor.start()
    wait_until((tmp_path / "careless").exists)
    (pgid,) = supervisor.pids
    assert len(group_members(pgid)) == 2

    problems = supervisor.stop()

    assert problems == ["careless left processes behind: killed them"]
    wait_until(lambda: group_members(pgid) == [])


KILLED_SUPERVISOR = """
import os, sys
from afspraak.server.supervisor import ChildSpec, Supervisor
code, ready = sys.argv[1], sys.argv[2]
supervisor = Supervisor(
    [ChildSpec("child", [sys.executable, "-c", code, ready], dict(os.environ))], stop_timeout=10
)
supervisor.start()
print(supervisor.pids[0], flush=True)
supervisor.wait()
"""


def test_children_stop_when_the_supervisor_itself_is_killed(tmp_path: Path):
    ready = tmp_path / "child"
    supervisor = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-c", KILLED_SUPERVISOR, POLITE, str(ready)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert supervisor.stdout is not None
    child = int(supervisor.stdout.readline())
    wait_until(ready.exists)

    supervisor.send_signal(signal.SIGKILL)
    supervisor.wait()
    supervisor.stdout.close()

    wait_until(lambda: not is_running(child))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_stop_signals_become_stop_requests_while_installed(signum):
    supervisor = Supervisor([], stop_timeout=1)
    before = signal.getsignal(signum)

    with supervisor.stopping_on_signals():
        os.kill(os.getpid(), signum)
        wait_until(lambda: supervisor.stop_requested)

    assert signal.getsignal(signum) == before

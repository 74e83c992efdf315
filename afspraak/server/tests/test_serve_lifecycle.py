"""``afspraak serve`` starts only when safe and stops as a whole, leaving no process behind."""

import os
import shutil
import signal
import socket
from pathlib import Path

import pytest

from afspraak.server.tests.serving import (
    ServeProcess,
    command_line,
    free_port,
    is_running,
    process_tree,
    run_afspraak,
    serve_environment,
)


def test_sigterm_stops_every_process_and_exits_zero(serve_var_dir: Path, tmp_path: Path):
    server = ServeProcess.start(serve_var_dir, tmp_path / "serve.log")
    children = process_tree(server.process.pid)
    command_lines = " | ".join(command_line(pid) for pid in children)
    assert "gunicorn" in command_lines
    assert "run_huey" in command_lines

    exit_code = server.stop(signal.SIGTERM)

    assert exit_code == 0, server.output()
    assert "afspraak serve: stopped" in server.output()
    assert [pid for pid in children if is_running(pid)] == []
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.http_port), timeout=5).close()


def test_a_child_that_dies_stops_the_others_and_the_exit_is_non_zero(
    serve_var_dir: Path, tmp_path: Path
):
    server = ServeProcess.start(serve_var_dir, tmp_path / "serve.log", http_port=0)
    children = process_tree(server.process.pid)
    consumer = next(pid for pid in children if "run_huey" in command_line(pid))
    assert "plain HTTP" not in server.output()  # --http-port 0: no redirect listener

    os.kill(consumer, signal.SIGKILL)
    exit_code = server.process.wait(timeout=45)

    assert exit_code == 1, server.output()
    assert (
        "CommandError: job consumer (huey) stopped unexpectedly (killed by SIGKILL); "
        "stopped everything"
    ) in server.output()
    assert "Traceback" not in server.output()
    assert [pid for pid in children if is_running(pid)] == []


def serve_until_exit(env: dict[str, str], *args: str):
    """Run ``afspraak serve`` expecting it to refuse to start; return its result."""
    return run_afspraak(env, "serve", "--http-port", str(free_port()), *args, timeout=60)


def assert_refused_with(result, message: str) -> None:
    """Check for exit code 1 and one clear line on stderr, without a traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"CommandError: {message}"
    assert "afspraak serve:" not in result.stdout


def test_a_missing_key_file_stops_startup_with_a_clear_message(serve_var_dir: Path, tmp_path: Path):
    port = free_port()
    missing = tmp_path / "no-such-key.pem"

    result = serve_until_exit(
        serve_environment(serve_var_dir, port), "--port", str(port), "--key", str(missing)
    )

    assert_refused_with(
        result,
        f"TLS private key {missing} is missing: run `afspraak setup` "
        "or point AFSPRAAK_TLS_KEY (or --key) at it",
    )


def test_a_group_readable_master_keyset_stops_startup(serve_var_dir: Path, tmp_path: Path):
    keyset = tmp_path / "master.json"
    shutil.copyfile(serve_var_dir / "keys" / "master.json", keyset)
    keyset.chmod(0o640)
    port = free_port()
    env = serve_environment(serve_var_dir, port, AFSPRAAK_MASTER_KEYSET_FILE=str(keyset))

    result = serve_until_exit(env, "--port", str(port))

    # Whichever check finds it first (serve's own, or a system check of the crypto app),
    # the keyset is named with the fix, and nothing crashes.
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"master keyset {keyset} is accessible by group or others (mode 0640)" in result.stderr
    assert "afspraak serve:" not in result.stdout

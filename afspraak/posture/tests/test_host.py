"""Listening sockets against the allowed ports, and the master key file's permissions."""

import dataclasses
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from afspraak.posture.host import (
    check_listening_sockets,
    check_master_key_file,
    listening_sockets,
    socket_inodes,
)
from afspraak.posture.results import Status

# /proc/net/tcp as the kernel writes it: 0.0.0.0:8443 and 127.0.0.1:5432 listening (0A),
# and an established connection (01) from 0.0.0.0:5432, which is no listener.
PROC_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:20FB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 00000000:1538 0200000A:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""
# ::1 port 6379 and :: port 8443 listening.
PROC_TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:18EB 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000000000000:20FB 00000000000000000000000000000000:0000 0A
"""
# PostgreSQL's port listening on every address.
EXPOSED_DATABASE = "   3: 00000000:1538 00000000:0000 0A 00000000:00000000 00:00000000 0 0 0 4 1\n"


def proc_files(tmp_path: Path, *, extra: str = "") -> tuple[Path, Path]:
    tcp, tcp6 = tmp_path / "tcp", tmp_path / "tcp6"
    tcp.write_text(PROC_TCP + extra)
    tcp6.write_text(PROC_TCP6)
    return tcp, tcp6


def test_listening_sockets_are_read_from_the_kernels_tables(tmp_path):
    assert listening_sockets(proc_files(tmp_path)) == [
        ("0.0.0.0", 8443),  # noqa: S104 (an address read from the table, not bound)
        ("127.0.0.1", 5432),
        ("::", 8443),
        ("::1", 6379),
    ]


def test_a_socket_this_process_opens_is_seen_in_the_real_proc_tables():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        assert ("127.0.0.1", port) in listening_sockets()


def test_only_allowed_ports_beyond_loopback_pass(settings, tmp_path, posture_target):
    settings.AFSPRAAK_AUDIT_ALLOWED_PORTS = [8443]

    result = check_listening_sockets(posture_target, proc_files(tmp_path))

    assert result.status is Status.PASS, result.detail


def test_a_database_port_open_to_every_address_fails(settings, tmp_path, posture_target):
    settings.AFSPRAAK_AUDIT_ALLOWED_PORTS = [8443]

    result = check_listening_sockets(posture_target, proc_files(tmp_path, extra=EXPOSED_DATABASE))

    assert result.status is Status.FAIL
    assert result.detail.endswith("(8443): 0.0.0.0:5432")


# Listens on every address on a free port, says which, and waits, under a shell that stays
# its parent: the listener is a descendant, not the process the audit is given.
_EXPOSED_LISTENER = (
    "import socket, sys; s = socket.create_server(('0.0.0.0', 0)); "
    "print(s.getsockname()[1], flush=True); sys.stdin.read()"
)


@pytest.fixture
def exposed_listener() -> Iterator[tuple[int, int]]:
    """Run a shell whose child listens on 0.0.0.0; yield the shell's pid and the port."""
    shell = subprocess.Popen(  # noqa: S603 (this interpreter, our own script)
        ["/bin/sh", "-c", f'"{sys.executable}" -c "{_EXPOSED_LISTENER}"; exit 0'],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert shell.stdout is not None
        yield shell.pid, int(shell.stdout.readline())
    finally:
        shell.kill()
        shell.wait(timeout=10)


def test_the_sockets_of_the_audited_processes_descendants_are_checked(
    settings, posture_target, exposed_listener
):
    settings.AFSPRAAK_AUDIT_ALLOWED_PORTS = [8443]
    shell, port = exposed_listener

    result = check_listening_sockets(dataclasses.replace(posture_target, processes=(shell,)))

    assert result.status is Status.FAIL
    assert result.detail.endswith(f"(8443): 0.0.0.0:{port}")
    assert f"of processes {shell} and their 1 descendants" in result.detail


def test_other_processes_sockets_are_left_out_when_processes_are_given(
    settings, posture_target, exposed_listener
):
    settings.AFSPRAAK_AUDIT_ALLOWED_PORTS = [8443]
    _, port = exposed_listener
    # A sibling of the listener: neither its ancestor nor its descendant.
    with subprocess.Popen(["/bin/cat"], stdin=subprocess.PIPE) as sibling:
        whole_host = check_listening_sockets(posture_target)
        only_sibling = check_listening_sockets(
            dataclasses.replace(posture_target, processes=(sibling.pid,))
        )
        sibling.kill()

    assert f"0.0.0.0:{port}" in whole_host.detail
    assert only_sibling.status is Status.PASS, only_sibling.detail


def test_a_process_that_does_not_run_fails_the_check(posture_target):
    # Above the kernel's highest possible pid (2**22): no process can have it.
    absent = 2**22 + 1

    result = check_listening_sockets(dataclasses.replace(posture_target, processes=(absent,)))

    assert result.status is Status.FAIL
    assert result.detail == f"no process {absent} runs here to audit"


def test_a_process_whose_sockets_cannot_be_read_is_reported(tmp_path):
    # A fake /proc: process 7's descriptors can be listed, process 8's cannot (a file
    # where the directory should be stands for another user's process; root reads all).
    (tmp_path / "7" / "fd").mkdir(parents=True)
    (tmp_path / "7" / "fd" / "3").symlink_to("socket:[4242]")
    (tmp_path / "7" / "fd" / "4").symlink_to("/dev/null")
    (tmp_path / "8").mkdir()
    (tmp_path / "8" / "fd").write_text("")

    assert socket_inodes({7, 8}, tmp_path) == (frozenset({4242}), [8])


@pytest.fixture
def keyset(settings, tmp_path) -> Path:
    directory = tmp_path / "keys"
    directory.mkdir(mode=0o700)
    path = directory / "master.json"
    path.write_text("{}")
    path.chmod(0o600)
    settings.AFSPRAAK_MASTER_KEYSET_FILE = path
    settings.AFSPRAAK_MASTER_KEY_URI = ""
    return path


def test_a_private_keyset_in_a_private_directory_passes(keyset, posture_target):
    result = check_master_key_file(posture_target)

    assert result.status is Status.PASS, result.detail


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda p: p.chmod(0o640), "is open to others (mode 0640)", id="group read"),
        pytest.param(lambda p: p.chmod(0o604), "is open to others (mode 0604)", id="world read"),
        pytest.param(
            lambda p: p.parent.chmod(0o755), "its directory", id="directory open to others"
        ),
        pytest.param(
            lambda p: os.chown(p, os.geteuid() + 4242, -1), "belongs to uid", id="another owner"
        ),
    ],
)
def test_a_keyset_others_can_reach_fails(keyset, posture_target, change, message):
    change(keyset)

    result = check_master_key_file(posture_target)

    assert result.status is Status.FAIL
    assert message in result.detail


def test_a_kms_master_key_has_no_file_to_check(keyset, settings, posture_target):
    settings.AFSPRAAK_MASTER_KEY_URI = "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/x"
    keyset.chmod(0o644)

    assert check_master_key_file(posture_target).status is Status.NOT_APPLICABLE

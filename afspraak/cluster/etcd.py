"""A one-member etcd on loopback: the store where Patroni keeps its leader lock."""

from __future__ import annotations

import shutil
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from afspraak.cluster.loopback import LOOPBACK as HOST
from afspraak.cluster.loopback import free_port, wait_until
from afspraak.cluster.processes import ServerProcess, start_server

ETCD_BINARY = "etcd"
_START_TIMEOUT = 30


class EtcdError(RuntimeError):
    """etcd is missing or did not come up."""


@dataclass
class Etcd:
    """A running etcd member: its client port and process."""

    client_port: int
    process: ServerProcess
    log_file: Path

    @property
    def client_address(self) -> str:
        return f"{HOST}:{self.client_port}"

    def is_healthy(self) -> bool:
        """Tell whether etcd answers its health endpoint."""
        try:
            with urllib.request.urlopen(
                f"http://{self.client_address}/health", timeout=2
            ) as answer:
                return b'"health":"true"' in answer.read()
        except (OSError, urllib.error.URLError):
            return False


def start_etcd(directory: Path) -> Etcd:
    """Start etcd with its data in ``directory``/etcd on two free loopback ports."""
    binary = shutil.which(ETCD_BINARY)
    if binary is None:
        raise EtcdError("etcd is not installed: run scripts/ensure-system-packages.sh test")
    data_dir = directory / "etcd"
    data_dir.mkdir(mode=0o700)
    client_port, peer_port = free_port(), free_port()
    client_url, peer_url = f"http://{HOST}:{client_port}", f"http://{HOST}:{peer_port}"
    log_file = directory / "etcd.log"
    process = start_server(
        "etcd",
        [
            binary,
            "--name=afspraak-etcd",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=afspraak-etcd={peer_url}",
            "--initial-cluster-state=new",
            "--log-level=warn",
        ],
        directory=directory,
        log_file=log_file,
    )
    etcd = Etcd(client_port=client_port, process=process, log_file=log_file)
    try:
        wait_until(
            lambda: etcd.is_healthy() or not process.is_running(),
            timeout=_START_TIMEOUT,
            what="etcd to start",
        )
    except TimeoutError:
        process.kill()
        raise
    if not process.is_running():
        raise EtcdError(f"etcd exited at start:\n{log_file.read_text(errors='replace')[-3000:]}")
    return etcd

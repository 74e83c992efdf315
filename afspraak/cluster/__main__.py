"""``python -m afspraak.cluster`` (``make cluster``): run the production shape until Ctrl-C."""

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from afspraak.cluster.loopback import ClusterError
from afspraak.cluster.shape import running_cluster


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Unwinds the context managers, which stop every server in order.
    raise KeyboardInterrupt


def main() -> int:
    """Start the cluster, print how to reach it, and keep it running until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="make cluster", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="HTTPS port (default: a free one)")
    arguments = parser.parse_args()
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(
        "cluster: starting PostgreSQL (Patroni pair), Redis (with sentinels), two app nodes, "
        "a job consumer and HAProxy…"
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix="afspraak-cluster-") as name,
            running_cluster(Path(name), https_port=arguments.port) as cluster,
        ):
            # The postmasters may change (a failover restarts one): the line is a snapshot.
            processes = "".join(f" --process {pid}" for pid in cluster.root_processes())
            print(
                f"cluster: ready after {cluster.startup_seconds:.1f} s\n"
                f"  Open:     {cluster.url}/ (trust the local CA: {cluster.ca_file})\n"
                f"  E-mail:   {cluster.demo_email}\n"
                f"  Password: {cluster.demo_password}\n"
                f"  Logs:     {cluster.directory}/logs, {cluster.directory}/haproxy\n"
                f"  Audit:    (set -a; . {cluster.environment_file}; "
                f"{sys.executable} -m afspraak.cli security-audit "
                f"--endpoint 127.0.0.1:{cluster.url.rsplit(':', 1)[1]}{processes})\n"
                "Ctrl-C stops everything.",
                flush=True,
            )
            while (failure := cluster.failure()) is None:
                time.sleep(0.5)
            print(f"cluster: {failure}; stopping everything", file=sys.stderr)
            return 1
    except KeyboardInterrupt:
        print("cluster: stopped")
        return 0
    except ClusterError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

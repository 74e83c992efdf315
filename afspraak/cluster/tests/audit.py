"""Check that ``afspraak security-audit``, run on a node of the cluster, passes (control N1).

The audit runs as an operator runs it on a node: a separate process with the cluster's
node.env loaded, against HAProxy's HTTPS port, trusting the cluster's local CA (the default
CA file of the nodes' var directory). This machine also runs listeners that are not the
cluster's (a 0.0.0.0 port of the sandbox), so the audit is given the cluster's root
processes (this test process and the postmasters Patroni detached), whose descendants are
every server of the cluster, and looks at their sockets only.
"""

import json
import os
import shlex
import socket
import stat
import subprocess
import sys
from contextlib import closing

from afspraak.cluster.shape import NODE_SETTING_PREFIXES, Cluster, node_settings
from afspraak.posture.host import listening_sockets, process_tree, socket_inodes

AUDIT_TIMEOUT_SECONDS = 180
# Checks whose subject the loopback cluster does not have, noted (and passing) in the
# embedded mode it runs in; in production mode each of them fails as "not configured".
NOTED_IN_DEVELOPMENT = {
    # No backup schedule runs in the cluster: backups are afspraak/backups' own tests.
    "backups-fresh": "no backup is complete in every backup location",
    "restore-drill": "no restore drill has run",
    # Nor a pgBackRest configuration (/etc/pgbackrest): its retention is checked where it is.
    "backup-retention": "cannot read the pgBackRest configuration",
    # A fresh installation has recorded no penetration test.
    "pentest": "no penetration test is recorded",
    # The ruleset is proven in namespaces (posture/tests/test_nftables.py); loading it on
    # this shared host would cut its other users off.
    "nftables": "the host has no `inet afspraak` nftables table",
}


def file_settings(cluster: Cluster) -> dict[str, str]:
    """Return the settings of the cluster's node.env, read as a shell reads them."""
    text = cluster.environment_file.read_text(encoding="utf-8")
    return dict(line.split("=", 1) for line in shlex.split(text))


def run_audit(cluster: Cluster) -> tuple[int, dict]:
    """Run the audit as a node's operator would; return its exit code and JSON report."""
    # An operator's shell with node.env loaded (as `make cluster`'s Audit line does).
    shell = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(NODE_SETTING_PREFIXES)
    }
    port = cluster.url.rsplit(":", 1)[1]
    result = subprocess.run(  # noqa: S603 (this interpreter, our own command)
        [
            sys.executable,
            "-m",
            "afspraak.cli",
            "security-audit",
            "--json",
            "--endpoint",
            f"127.0.0.1:{port}",
            *(f"--process={pid}" for pid in cluster.root_processes()),
        ],
        env=shell | file_settings(cluster),
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def cluster_ports(cluster: Cluster) -> set[int]:
    """Return the ports of HAProxy's HTTPS, the app nodes, Redis and its sentinels, PostgreSQL."""
    return {
        int(cluster.url.rsplit(":", 1)[1]),
        *(int(address.rsplit(":", 1)[1]) for address in cluster.nodes.addresses),
        *cluster.redis.server_ports.values(),
        *cluster.redis.sentinel_ports,
        *(int(port) for port in cluster.environment["AFSPRAAK_DB_PORT"].split(",")),
    }


def check_security_audit_passes_on_the_cluster(cluster):
    code, report = run_audit(cluster)
    checks = {check["name"]: check for check in report["checks"]}

    failures = {
        name: check["detail"] for name, check in checks.items() if check["status"] == "fail"
    }
    assert not failures, failures
    assert code == 0
    assert report["passed"] is True
    # Every check applies here: PostgreSQL (role, RLS), a key file, a TLS endpoint.
    assert {name for name, check in checks.items() if check["status"] != "pass"} == set()
    noted = {
        name
        for name, check in checks.items()
        if check["detail"].startswith("not configured (development)")
    }
    assert noted == set(NOTED_IN_DEVELOPMENT), {name: checks[name]["detail"] for name in noted}
    for name, reason in NOTED_IN_DEVELOPMENT.items():
        assert reason in checks[name]["detail"], checks[name]["detail"]
    # The scope the audit was given holds the sockets of every server of the cluster.
    roots = tuple(cluster.root_processes())
    scoped = listening_sockets(inodes=socket_inodes(process_tree(roots))[0])
    assert cluster_ports(cluster) <= {port for _, port in scoped}, scoped
    assert "the application's role" in checks["database-role"]["detail"]


def check_security_audit_fails_on_a_cluster_process_listening_on_every_address(cluster):
    # A server of the cluster's process tree bound to every address, as a node with a
    # forgotten "listen 0.0.0.0" would be: the scoped audit must still see it.
    with closing(socket.create_server(("0.0.0.0", 0))) as exposed:  # noqa: S104 (the point)
        port = exposed.getsockname()[1]
        code, report = run_audit(cluster)
    checks = {check["name"]: check for check in report["checks"]}

    assert code == 1
    assert checks["listening-sockets"]["status"] == "fail"
    assert checks["listening-sockets"]["detail"].endswith(f"0.0.0.0:{port}")
    assert [name for name, check in checks.items() if check["status"] == "fail"] == [
        "listening-sockets"
    ]


def check_the_node_environment_file_holds_the_nodes_settings_for_us_only(cluster):
    settings = file_settings(cluster)

    assert stat.S_IMODE(cluster.environment_file.stat().st_mode) == 0o600
    assert settings == node_settings(cluster.environment)
    assert "PGSSLROOTCERT" in settings

"""The firewall ruleset (control N1): valid, and in a namespace only 80 and 443 answer the world.

The ruleset is loaded only into private network namespaces the test creates
(``namespaces.py``), never into the host's.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from afspraak.posture.tests.namespaces import (
    ADMIN_ADDRESS,
    CLIENT_ADDRESS,
    NFT,
    PORTS,
    NamespacePair,
)

RULESET = Path(settings.BASE_DIR) / "deploy" / "nftables" / "afspraak.nft"

_AUDIT_NFTABLES = """
import json, sys
import django
django.setup()
from afspraak.posture.host import check_nftables
from afspraak.posture.results import Target
result = check_nftables(Target("127.0.0.1", 9, "localhost", "", sys.argv[1] == "production"))
print(json.dumps({"status": str(result.status), "detail": result.detail}))
"""


@pytest.fixture(scope="module")
def namespaces() -> Iterator[NamespacePair]:
    pair = NamespacePair()
    yield pair
    pair.stop()


def audit_nftables_in(pair: NamespacePair, which: str, mode: str, tmp_path: Path) -> dict:
    """Run the nftables check inside the server's or the client's namespace."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AFSPRAAK_")}
    env |= {"DJANGO_SETTINGS_MODULE": "afspraak.settings", "AFSPRAAK_VAR_DIR": str(tmp_path)}
    namespace = pair.server if which == "server" else pair.client
    result = namespace.run(sys.executable, "-c", _AUDIT_NFTABLES, mode, env=env)
    return json.loads(result.stdout)


def test_the_ruleset_is_valid_nftables():
    result = subprocess.run(  # noqa: S603 (nft checks the file; -c applies nothing)
        [NFT, "-c", "-f", str(RULESET)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def test_only_80_and_443_answer_the_world_and_22_answers_the_admin_range(namespaces):
    # Without the ruleset every listener answers: the probe sees open ports.
    namespaces.server.run(NFT, "flush ruleset")
    assert namespaces.answering_ports(CLIENT_ADDRESS) == sorted(PORTS)

    namespaces.load_ruleset(RULESET)

    assert namespaces.answering_ports(CLIENT_ADDRESS) == [80, 443]
    assert namespaces.answering_ports(ADMIN_ADDRESS) == [22, 80, 443]


def test_the_audit_passes_when_the_table_equals_the_ruleset_whatever_its_addresses(
    namespaces, tmp_path
):
    namespaces.load_ruleset(RULESET)

    result = audit_nftables_in(namespaces, "server", "production", tmp_path)

    assert result["status"] == "pass", result["detail"]


def test_the_audit_fails_when_a_rule_was_added_to_the_host(namespaces, tmp_path):
    namespaces.load_ruleset(RULESET)
    namespaces.server.run(NFT, "add rule inet afspraak input tcp dport 5432 accept")

    result = audit_nftables_in(namespaces, "server", "production", tmp_path)

    assert result["status"] == "fail"
    assert "differs from" in result["detail"]
    assert 5432 in namespaces.answering_ports(CLIENT_ADDRESS)


def test_a_host_without_the_table_fails_in_production_and_passes_with_a_note_in_development(
    namespaces, tmp_path
):
    production = audit_nftables_in(namespaces, "client", "production", tmp_path)
    development = audit_nftables_in(namespaces, "client", "development", tmp_path)

    assert production["status"] == "fail"
    assert "no `inet afspraak` nftables table" in production["detail"]
    assert development["status"] == "pass"
    assert development["detail"].startswith("not configured (development)")

"""deploy/haproxy/haproxy.cfg offers the TLS policy of ``afspraak serve``."""

import re

from afspraak.cluster.haproxy import CONFIG_FILE
from afspraak.server import tls


def config_value(directive: str) -> str:
    """Return the argument of a directive of deploy/haproxy/haproxy.cfg."""
    match = re.search(rf"^\s*{directive}\s+(\S+)", CONFIG_FILE.read_text(), re.MULTILINE)
    assert match, directive
    return match.group(1)


def test_haproxy_offers_the_tls_policy_of_afspraak_serve():
    assert config_value("ssl-default-bind-ciphers").split(":") == list(tls.TLS12_CIPHERS)
    curves = re.search(r" curves (\S+)", CONFIG_FILE.read_text())
    assert curves
    assert curves.group(1).split(":") == list(tls.KEY_EXCHANGE_GROUPS)
    assert "ssl-min-ver TLSv1.2" in CONFIG_FILE.read_text()

"""The Redis settings: one server by URL, or the current primary of a service through sentinels."""

import json
import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from afspraak.redis_sentinel import SentinelPool, parse_sentinels

SHOW_REDIS = (
    "import json, afspraak.settings as s; c = s.CACHES['default']; h = s.HUEY; "
    "print(json.dumps({'location': c['LOCATION'], 'sentinels': c['OPTIONS'].get('sentinels'), "
    "'pool': type(h.get('connection_pool')).__name__, 'service': "
    "getattr(h.get('connection_pool'), 'service_name', None), 'url': h.get('url')}))"
)


def _settings(**variables: str) -> subprocess.CompletedProcess[str]:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("AFSPRAAK_REDIS")
    }
    return subprocess.run(  # noqa: S603 (this interpreter, a fixed snippet)
        [sys.executable, "-c", SHOW_REDIS],
        env=environment | variables,
        capture_output=True,
        text=True,
        check=False,
    )


def test_sentinels_make_the_cache_and_the_queue_ask_for_the_current_primary():
    result = _settings(
        AFSPRAAK_REDIS_URL="redis://:secret@afspraak/0",
        AFSPRAAK_REDIS_SENTINELS="10.0.1.21:26379, 10.0.1.22:26379,10.0.1.23:26379",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "location": "redis://:secret@afspraak/0",
        "sentinels": [["10.0.1.21", 26379], ["10.0.1.22", 26379], ["10.0.1.23", 26379]],
        "pool": "SentinelPool",
        "service": "afspraak",
        "url": None,
    }


def test_without_sentinels_one_server_serves_by_its_url():
    result = _settings(AFSPRAAK_REDIS_URL="redis://:secret@10.0.1.21:6379/0")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["url"] == "redis://:secret@10.0.1.21:6379/0"
    assert json.loads(result.stdout)["sentinels"] is None


def test_sentinels_without_the_service_url_stop_the_start():
    result = _settings(AFSPRAAK_REDIS_SENTINELS="10.0.1.21:26379")

    assert result.returncode != 0
    assert "AFSPRAAK_REDIS_SENTINELS needs AFSPRAAK_REDIS_URL" in result.stderr


@pytest.mark.parametrize("raw", ["10.0.1.21", "10.0.1.21:port", ":26379", "db:70000", " , "])
def test_a_malformed_sentinel_list_is_refused_with_its_item(raw):
    with pytest.raises(ImproperlyConfigured, match="AFSPRAAK_REDIS_SENTINELS"):
        parse_sentinels("AFSPRAAK_REDIS_SENTINELS", raw)


def test_sentinel_addresses_may_be_names_or_bracketed_ipv6():
    assert parse_sentinels("S", "redis-a:26379,[::1]:26380") == [("redis-a", 26379), ("::1", 26380)]


@pytest.mark.parametrize(
    "url",
    ["redis://:secret@10.0.1.21:6379/0", "rediss://:secret@afspraak/0", "redis://:s@afspraak/x"],
)
def test_with_sentinels_the_url_must_name_a_service_and_a_database(url):
    with pytest.raises(ImproperlyConfigured, match="Redis"):
        SentinelPool.from_url(url, sentinels=[("127.0.0.1", 26379)])

"""Reach the current Redis primary through Redis Sentinel, for the cache and the job queue.

With ``AFSPRAAK_REDIS_SENTINELS`` set, ``AFSPRAAK_REDIS_URL``'s host names the service the
sentinels watch (``redis://:password@afspraak/0``) instead of a server. Every new
connection asks the sentinels where that service's primary is now, so after a failover
the app carries on against the promoted replica without a restart or a configuration
change. The password serves both Redis and the sentinels.
"""

from typing import Any
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from redis.sentinel import Sentinel, SentinelConnectionPool

# How long one sentinel or server may take to answer before the next is tried.
SOCKET_TIMEOUT_SECONDS = 2.0


def parse_sentinels(name: str, raw: str) -> list[tuple[str, int]]:
    """Return ``host:port,host:port`` as addresses, or explain what is wrong with it."""
    addresses = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        host, separator, port = item.rpartition(":")
        if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(
                f"{name} must list sentinels as host:port separated by commas, not {item!r}"
            )
        addresses.append((host.strip("[]"), int(port)))
    if not addresses:
        raise ImproperlyConfigured(f"{name} lists no sentinel")
    return addresses


class SentinelPool(SentinelConnectionPool):
    """A connection pool that always connects to the service's current primary.

    Django's Redis cache builds its pool with ``pool_class.from_url(LOCATION, **OPTIONS)``;
    this ``from_url`` reads the service, password and database from the URL and takes the
    sentinels' addresses from the ``sentinels`` option.
    """

    @classmethod
    def from_url(cls, url: str, **options: Any) -> "SentinelPool":
        """Return a pool for the service ``url`` names, found through ``options["sentinels"]``."""
        sentinels: list[tuple[str, int]] = options.pop("sentinels")
        parts = urlsplit(url)
        if parts.scheme != "redis" or not parts.hostname or parts.port is not None:
            raise ImproperlyConfigured(
                "With sentinels, the Redis URL names the service: redis://:password@SERVICE/DB"
            )
        password = unquote(parts.password) if parts.password else None
        database = parts.path.strip("/") or "0"
        if not database.isdigit():
            raise ImproperlyConfigured(f"The Redis database must be a number, not {database!r}")
        manager = Sentinel(
            sentinels,
            sentinel_kwargs={"password": password, "socket_timeout": SOCKET_TIMEOUT_SECONDS},
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        return cls(
            parts.hostname,
            manager,
            password=password,
            db=int(database),
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
            **options,
        )

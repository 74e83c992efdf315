"""Where the app keeps its state, from the environment: databases, caches, the job queue.

The embedded mode keeps everything in SQLite files under ``AFSPRAAK_VAR_DIR``; production
connects to PostgreSQL (a Patroni pair through a libpq multi-host address) and Redis
(a primary found through its sentinels). ``afspraak.settings`` calls these once.
"""

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from afspraak.environment import env_bool, env_choice, env_int, env_secret, env_str
from afspraak.redis_sentinel import SentinelPool, parse_sentinels

Settings = dict[str, dict[str, Any]]


def database_settings(engine: str, var_dir: Path, *, sslmode: str) -> Settings:
    """Return ``DATABASES``: the default connection, and on PostgreSQL the system one."""
    if engine != "postgresql":
        return {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": env_str("AFSPRAAK_DB_NAME", str(var_dir / "afspraak.sqlite3")),
                # Reused by each web thread: a new SQLite connection parses the whole schema
                # at its first statement, which cost more than the rest of a cached booking
                # page.
                "CONN_MAX_AGE": env_int("AFSPRAAK_DB_CONN_MAX_AGE", 60, minimum=0),
                # IMMEDIATE takes the write lock at BEGIN, so a read-then-write check inside
                # a transaction cannot race another writer.
                # secure_delete zeroes what a delete frees, so deleted data leaves the file
                # (and the backups copied from it) at once instead of lingering in free
                # pages (D2).
                "OPTIONS": {
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 20,
                    "init_command": "PRAGMA secure_delete = ON",
                },
            }
        }
    options = {"sslmode": sslmode}
    # With several hosts (``AFSPRAAK_DB_HOST=a,b``), libpq tries them in order and keeps the
    # first that matches: ``read-write`` finds the current primary of a Patroni pair.
    target_session_attrs = env_choice(
        "AFSPRAAK_DB_TARGET_SESSION_ATTRS",
        "",
        ("", "any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    )
    if target_session_attrs:
        options["target_session_attrs"] = target_session_attrs
    databases: Settings = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env_str("AFSPRAAK_DB_NAME", "afspraak"),
            "USER": env_str("AFSPRAAK_DB_USER", "afspraak"),
            "PASSWORD": env_secret("AFSPRAAK_DB_PASSWORD"),
            "HOST": env_str("AFSPRAAK_DB_HOST", "127.0.0.1"),
            "PORT": env_str("AFSPRAAK_DB_PORT", "5432"),
            "CONN_MAX_AGE": env_int("AFSPRAAK_DB_CONN_MAX_AGE", 60, minimum=0),
            # A persistent connection to a primary that died (failover) is noticed before a
            # request uses it, so the request connects again, to the new primary.
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    }
    # System jobs that must cross organizations (offboarding across tenants, backups,
    # retention) connect as a role that bypasses row-level security; request traffic
    # uses the default role, which must not (docs/security/tenancy.md).
    system_user = env_str("AFSPRAAK_DB_SYSTEM_USER")
    if system_user:
        databases["system"] = databases["default"] | {
            "USER": system_user,
            "PASSWORD": env_secret("AFSPRAAK_DB_SYSTEM_PASSWORD"),
            "CONN_MAX_AGE": 0,
            "TEST": {"MIRROR": "default"},
        }
    return databases


def _redis() -> tuple[str, list[tuple[str, int]] | None]:
    """Return Redis's URL ("" for none) and the sentinels that name its primary, if any."""
    url = env_secret("AFSPRAAK_REDIS_URL")
    # Sentinels to ask for the current primary (no single Redis to lose): the URL then
    # names the service they watch (``afspraak.redis_sentinel``).
    sentinels = env_str("AFSPRAAK_REDIS_SENTINELS")
    if not sentinels:
        return url, None
    if not url:
        raise ImproperlyConfigured(
            "AFSPRAAK_REDIS_SENTINELS needs AFSPRAAK_REDIS_URL (redis://:password@SERVICE/DB)"
        )
    return url, parse_sentinels("AFSPRAAK_REDIS_SENTINELS", sentinels)


def cache_settings() -> Settings:
    """Return ``CACHES``: Redis when configured, else the database; and each process's own."""
    # Counters for rate limits and used TOTP codes must be shared by every worker and
    # survive restarts: the database in the embedded mode, Redis in production.
    url, sentinels = _redis()
    if url:
        options = {"pool_class": SentinelPool, "sentinels": sentinels} if sentinels else {}
        caches: Settings = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "OPTIONS": options,
            }
        }
    else:
        caches = {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "afspraak_cache",
            }
        }
    # Each process's own memory, for what is keyed by a version read from the database on
    # every use (the booking page's body), so it cannot be stale in any process.
    caches["local"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "afspraak-local",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
    return caches


def huey_settings(var_dir: Path) -> dict[str, Any]:
    """Return ``HUEY``: the job queue in Redis when configured, else in a SQLite file."""
    huey: dict[str, Any] = {
        "name": "afspraak",
        "immediate": env_bool("AFSPRAAK_HUEY_IMMEDIATE", False),
        "consumer": {
            "workers": env_int("AFSPRAAK_HUEY_WORKERS", 2, minimum=1),
            "worker_type": "thread",
        },
    }
    url, sentinels = _redis()
    if sentinels:
        pool = SentinelPool.from_url(url, sentinels=sentinels)
        return huey | {"huey_class": "huey.RedisHuey", "connection_pool": pool}
    if url:
        return huey | {"huey_class": "huey.RedisHuey", "url": url}
    return huey | {"huey_class": "huey.SqliteHuey", "filename": str(var_dir / "huey.sqlite3")}

"""The database and the channel layer, chosen from URLs in the environment."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

SUPPORTED_DATABASE_ENGINES = {
    "django.db.backends.sqlite3": "sqlite",
    "django.db.backends.postgresql": "postgresql",
}


def database_from_url(url: str, *, default_sqlite_path: Path) -> dict[str, Any]:
    """DATABASE_URL as a Django DATABASES entry; SQLite at ``default_sqlite_path`` if unset."""
    if not url:
        default_sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        return _sqlite({"ENGINE": "django.db.backends.sqlite3", "NAME": str(default_sqlite_path)})
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except (ValueError, dj_database_url.UnknownSchemeError) as exc:
        # The message names the scheme only: the URL may carry a password.
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
    if config["ENGINE"] not in SUPPORTED_DATABASE_ENGINES:
        supported = ", ".join(sorted(SUPPORTED_DATABASE_ENGINES.values()))
        raise ImproperlyConfigured(
            f"DATABASE_URL: engine {config['ENGINE']} is not supported (use {supported})"
        )
    return _sqlite(config) if config["ENGINE"].endswith("sqlite3") else config


def _sqlite(config: dict[str, Any]) -> dict[str, Any]:
    # Several async consumers and request threads share the file: WAL lets readers run
    # while one writer writes, IMMEDIATE takes the write lock up front instead of failing
    # half-way through a transaction, and the timeout waits for the lock instead of raising.
    options = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    return {**config, "OPTIONS": {**options, **config.get("OPTIONS", {})}}


def channel_layers_from_url(redis_url: str) -> dict[str, Any]:
    """GATEHOUSE_REDIS_URL selects the Redis layer (several replicas); else in-memory."""
    if not redis_url:
        return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    if importlib.util.find_spec("channels_redis") is None:
        raise ImproperlyConfigured(
            "GATEHOUSE_REDIS_URL is set but the Redis channel layer needs the channels_redis "
            "package, which is not installed"
        )
    return {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }


def cache_from_url(url: str) -> dict[str, Any]:
    """GATEHOUSE_CACHE_URL as Django's default cache: ``locmem://`` (the default: one
    process) or ``redis://`` / ``rediss://`` (shared by every replica; needs the optional
    ``redis`` package). Rate limits count in this cache, so several replicas need Redis."""
    scheme = url.partition("://")[0].lower() if url else "locmem"
    if scheme == "locmem":
        return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "gatehouse"}
    if scheme not in ("redis", "rediss"):
        # The message names the scheme only: the URL may carry a password.
        raise ImproperlyConfigured(
            f"GATEHOUSE_CACHE_URL: scheme {scheme!r} is not supported (use locmem:// or redis://)"
        )
    if importlib.util.find_spec("redis") is None:
        raise ImproperlyConfigured(
            "GATEHOUSE_CACHE_URL names Redis but the redis package is not installed"
        )
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}

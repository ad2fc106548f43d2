"""Credential rate limits and the cache that counts them come from the environment: sensible
defaults, zero turns a limit off, and a bad value stops the start with the variable's name."""

from __future__ import annotations

import importlib.util

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.backends import cache_from_url
from controlplane.config.ratelimits import Limit, credential_rate_limits_from_env

VARIABLES = (
    "GATEHOUSE_AUTH_RATE_PER_MINUTE",
    "GATEHOUSE_AUTH_RATE_BURST",
    "GATEHOUSE_AUTH_RATE_CREDENTIAL_PER_MINUTE",
    "GATEHOUSE_AUTH_RATE_CREDENTIAL_BURST",
    "GATEHOUSE_TRUSTED_PROXY_COUNT",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_by_default_30_a_minute_with_bursts_of_10_per_client_and_per_credential() -> None:
    limits = credential_rate_limits_from_env()
    assert limits.per_client == limits.per_credential == Limit(per_minute=30, burst=10)
    assert limits.per_client.windows() == [(10, 10), (60, 30)]
    assert limits.trusted_proxies == 0


def test_limits_are_read_and_zero_turns_one_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_AUTH_RATE_PER_MINUTE", "120")
    monkeypatch.setenv("GATEHOUSE_AUTH_RATE_BURST", "0")
    monkeypatch.setenv("GATEHOUSE_TRUSTED_PROXY_COUNT", "1")
    limits = credential_rate_limits_from_env()
    assert limits.per_client.windows() == [(60, 120)]
    assert limits.trusted_proxies == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("GATEHOUSE_AUTH_RATE_BURST", "ten"),
        ("GATEHOUSE_AUTH_RATE_CREDENTIAL_PER_MINUTE", "-1"),
        ("GATEHOUSE_TRUSTED_PROXY_COUNT", "99"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        credential_rate_limits_from_env()


def test_the_cache_is_in_process_unless_a_url_is_given() -> None:
    assert cache_from_url("")["BACKEND"].endswith("LocMemCache")
    assert cache_from_url("locmem://")["BACKEND"].endswith("LocMemCache")


def test_an_unsupported_cache_url_fails_without_showing_the_url() -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        cache_from_url("memcached://user:hunter2@cache:11211")
    assert "memcached" in str(raised.value) and "hunter2" not in str(raised.value)


@pytest.mark.skipif(importlib.util.find_spec("redis") is not None, reason="redis installed")
def test_a_redis_cache_url_without_the_redis_package_fails_at_start() -> None:
    with pytest.raises(ImproperlyConfigured, match="redis package"):
        cache_from_url("redis://cache:6379/1")


@pytest.mark.skipif(importlib.util.find_spec("redis") is None, reason="redis not installed")
def test_a_redis_cache_url_selects_djangos_redis_cache() -> None:
    assert cache_from_url("redis://cache:6379/1")["BACKEND"].endswith("RedisCache")

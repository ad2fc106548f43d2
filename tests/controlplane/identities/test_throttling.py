"""The credential endpoints slow down guessers: attempts are counted per client address and
per presented credential before any credential is checked; over the limit the answer is 429
with Retry-After, and the refusal is audited once per window without the secret."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import jwt
import pytest
from django.contrib.auth import authenticate
from django.test import RequestFactory
from pytest_django import Settings
from rest_framework.test import APIClient

from controlplane.audit.models import AuditEvent
from controlplane.config.ratelimits import CredentialRateLimits, Limit
from controlplane.identities import throttling
from controlplane.identities.exchange import API_KEY_TOKEN_TYPE, GRANT_TYPE
from controlplane.identities.local_login import admin_password_set
from controlplane.identities.models import User
from controlplane.identities.services import api_key_create

OFF = Limit(per_minute=0, burst=0)
GUESSED_KEY = "gh_0123456789ab_not-the-secret"
MINUTE_START = 60.0 * 28_333_333  # a time at which a 10 s and a 60 s window both begin


class Clock:
    def __init__(self) -> None:
        self.now = MINUTE_START + 1.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Windows are wall-clock aligned: a test must not straddle a window's end by chance."""
    pinned = Clock()
    monkeypatch.setattr(throttling, "clock", pinned)
    return pinned


def limits(settings: Settings, *, client: Limit = OFF, credential: Limit = OFF, proxies: int = 0):
    settings.GATEHOUSE_AUTH_RATE_LIMITS = CredentialRateLimits(
        per_client=client, per_credential=credential, trusted_proxies=proxies
    )


def exchange(subject_token: str, **meta: str) -> Any:
    body = {
        "grant_type": GRANT_TYPE,
        "subject_token": subject_token,
        "subject_token_type": API_KEY_TOKEN_TYPE,
    }
    return APIClient().post(
        "/api/v1/token-exchange",
        urlencode(body),
        content_type="application/x-www-form-urlencoded",
        **meta,
    )


def mint(api_key: str, **meta: str) -> Any:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"ApiKey {api_key}", **meta)
    return api.post("/api/v1/tokens", {}, format="json")


def rate_limited_events() -> list[dict[str, Any]]:
    return [e.payload for e in AuditEvent.objects.filter(action="auth.rate_limited")]


def test_a_client_over_its_burst_gets_an_oauth_slow_down_with_retry_after(
    db: None, settings: Settings
) -> None:
    limits(settings, client=Limit(per_minute=30, burst=3))
    for _ in range(3):
        assert exchange(GUESSED_KEY).status_code == 400  # counted, then refused as usual
    limited = exchange(GUESSED_KEY)
    assert limited.status_code == 429
    assert limited.json()["error"] == "slow_down"
    assert limited["Retry-After"] == "9"  # the 10 s window began a second ago
    assert limited["Cache-Control"] == "no-store"


def test_a_new_window_lets_the_client_in_again(db: None, settings: Settings, clock: Clock) -> None:
    limits(settings, client=Limit(per_minute=30, burst=1))
    assert [exchange(GUESSED_KEY).status_code for _ in range(2)] == [400, 429]
    clock.now += 9.0
    assert exchange(GUESSED_KEY).status_code == 400


def test_the_per_minute_limit_holds_when_the_burst_allows_more(
    db: None, settings: Settings
) -> None:
    limits(settings, client=Limit(per_minute=2, burst=10))
    assert [exchange(GUESSED_KEY).status_code for _ in range(3)] == [400, 400, 429]


def test_a_refusal_is_audited_once_per_window_without_the_secret(
    db: None, settings: Settings, clock: Clock
) -> None:
    limits(settings, client=Limit(per_minute=30, burst=1))
    for _ in range(6):
        exchange(GUESSED_KEY)
    [event] = rate_limited_events()
    assert event["endpoint"] == "token_exchange"
    assert event["scope"] == "client"
    assert event["client"] == "127.0.0.1"
    assert "not-the-secret" not in str(event)
    actor = AuditEvent.objects.get(action="auth.rate_limited").actor_kind
    assert actor == "anonymous"
    clock.now += 10.0
    for _ in range(3):
        exchange(GUESSED_KEY)
    assert len(rate_limited_events()) == 2  # one more for the next window


def test_one_credential_is_limited_across_addresses_and_others_are_not(
    agent_smith: User, settings: Settings
) -> None:
    limits(settings, credential=Limit(per_minute=30, burst=2))
    smith_key = api_key_create(actor=None, user=agent_smith).plaintext
    other_key = api_key_create(actor=None, user=agent_smith).plaintext
    for address in ("198.51.100.1", "198.51.100.2"):
        assert exchange(smith_key, REMOTE_ADDR=address).status_code == 200
    assert exchange(smith_key, REMOTE_ADDR="198.51.100.3").status_code == 429
    assert exchange(other_key).status_code == 200
    [event] = rate_limited_events()
    assert event["scope"] == "credential"
    assert event["credential"] == f"api_key:{smith_key.split('_')[1]}"
    assert smith_key not in str(event)


def test_guessed_api_keys_at_the_token_endpoint_are_limited_before_being_checked(
    db: None, settings: Settings
) -> None:
    limits(settings, client=Limit(per_minute=30, burst=3))
    assert [mint(GUESSED_KEY).status_code for _ in range(3)] == [401, 401, 401]
    limited = mint(GUESSED_KEY)
    assert limited.status_code == 429  # not 401: the key was not even looked at
    assert "throttled" in limited.json()["detail"]
    assert limited["Retry-After"] == "9"
    assert rate_limited_events()[0]["endpoint"] == "tokens"


def test_a_valid_key_is_limited_too(agent_smith: User, settings: Settings) -> None:
    limits(settings, credential=Limit(per_minute=30, burst=2))
    smith_key = api_key_create(actor=None, user=agent_smith).plaintext
    assert [mint(smith_key).status_code for _ in range(3)] == [201, 201, 429]


def test_behind_a_trusted_proxy_the_address_it_saw_is_the_client(
    db: None, settings: Settings
) -> None:
    limits(settings, client=Limit(per_minute=30, burst=1), proxies=1)
    first = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 203.0.113.7"}  # left part: the client's claim
    assert exchange(GUESSED_KEY, **first).status_code == 400
    assert exchange(GUESSED_KEY, HTTP_X_FORWARDED_FOR="10.1.1.1, 203.0.113.7").status_code == 429
    assert exchange(GUESSED_KEY, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 400
    assert rate_limited_events()[0]["client"] == "203.0.113.7"


def test_without_trusted_proxies_a_forwarded_header_is_ignored(
    db: None, settings: Settings
) -> None:
    limits(settings, client=Limit(per_minute=30, burst=1))
    assert exchange(GUESSED_KEY, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 400
    assert exchange(GUESSED_KEY, HTTP_X_FORWARDED_FOR="203.0.113.2").status_code == 429


def test_password_sign_in_is_limited_per_username(bob: User, settings: Settings) -> None:
    settings.GATEHOUSE_LOCAL_LOGIN = True
    limits(settings, credential=Limit(per_minute=30, burst=3))
    admin_password_set(actor=None, user=bob, password="correct horse battery staple")
    request = RequestFactory().post("/login/")
    for _ in range(3):
        assert authenticate(request, username="bob", password="wrong guess") is None
    right = authenticate(request, username="bob", password="correct horse battery staple")
    assert right is None  # the limit holds even for the right password
    [event] = rate_limited_events()
    assert event["endpoint"] == "password_login"
    assert event["credential"].startswith("username:") and "bob" not in event["credential"]


def test_one_ipv6_host_counts_as_its_slash_64(settings: Settings) -> None:
    limits(settings)
    first = throttling.client_address({"REMOTE_ADDR": "2001:db8:1:2::10"})
    second = throttling.client_address({"REMOTE_ADDR": "2001:db8:1:2:ffff::1"})
    assert first == second == "2001:db8:1:2::/64"
    assert throttling.client_address({"REMOTE_ADDR": "203.0.113.5"}) == "203.0.113.5"


def test_credentials_are_named_by_their_public_part_only() -> None:
    assert throttling.credential_identifier(GUESSED_KEY) == "api_key:0123456789ab"
    opaque = throttling.credential_identifier("an-opaque-access-token")
    assert opaque.startswith("token:") and "opaque" not in opaque
    one_client = [
        throttling.credential_identifier(jwt.encode({"iss": "idp", "sub": "bot", "n": n}, "k"))
        for n in range(2)
    ]
    assert one_client[0] == one_client[1]  # same issuer and subject: one bucket
    assert one_client[0].startswith("jwt:")

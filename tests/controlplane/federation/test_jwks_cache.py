"""Issuer keys are fetched over HTTP, cached, refetched once for an unknown kid (rate-limited),
and found through OIDC discovery when no JWKS URL is configured."""

from __future__ import annotations

import pytest

from controlplane.federation import jwks
from controlplane.federation.jwks import JwksCache
from controlplane.federation.models import TrustedIssuer
from controlplane.federation.services import trusted_issuer_create
from controlplane.federation.verification import ExternalTokenRejected, external_token_verify
from tests.controlplane.federation.local_idp import AUDIENCE, LocalIdP


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(jwks, "JWKS", JwksCache(clock=clock))
    return clock


def test_keys_are_fetched_once_and_cached(trusted: TrustedIssuer, idp: LocalIdP, clock: Clock):
    for _ in range(3):
        external_token_verify(token=idp.token())
    assert idp.hits["/jwks"] == 1


def test_keys_are_fetched_again_after_the_ttl(trusted: TrustedIssuer, idp: LocalIdP, clock: Clock):
    external_token_verify(token=idp.token())
    clock.now += jwks.JWKS_TTL_SECONDS
    external_token_verify(token=idp.token())
    assert idp.hits["/jwks"] == 2


def test_a_rotated_in_key_is_found_by_one_refetch(
    trusted: TrustedIssuer, idp: LocalIdP, clock: Clock
):
    external_token_verify(token=idp.token())
    idp.add_key("rsa-2", "rsa")
    clock.now += jwks.REFETCH_MIN_INTERVAL_SECONDS
    external_token_verify(token=idp.token(kid="rsa-2"))
    assert idp.hits["/jwks"] == 2


def test_an_unknown_kid_refetches_once_then_is_refused_without_more_fetches(
    trusted: TrustedIssuer, idp: LocalIdP, clock: Clock
):
    external_token_verify(token=idp.token())
    idp.add_key("rsa-9", "rsa", publish=False)
    clock.now += jwks.REFETCH_MIN_INTERVAL_SECONDS
    for _ in range(5):
        with pytest.raises(ExternalTokenRejected, match="unknown key"):
            external_token_verify(token=idp.token(kid="rsa-9"))
    assert idp.hits["/jwks"] == 2  # the first load and one refetch, not one per token


def test_the_jwks_url_is_discovered_when_not_configured(db: None, idp: LocalIdP, clock: Clock):
    trusted_issuer_create(
        actor=None, name="disc", issuer=idp.issuer, audience=AUDIENCE, algorithms=["RS256"]
    )
    external_token_verify(token=idp.token())
    assert idp.hits["/.well-known/openid-configuration"] == 1
    assert idp.hits["/jwks"] == 1


def test_an_unreachable_jwks_refuses_the_token(db: None, idp: LocalIdP, clock: Clock):
    trusted_issuer_create(
        actor=None,
        name="gone",
        issuer=idp.issuer,
        audience=AUDIENCE,
        algorithms=["RS256"],
        jwks_url=idp.issuer + "/no-such-jwks",
    )
    for _ in range(3):
        with pytest.raises(ExternalTokenRejected, match="issuer keys unavailable"):
            external_token_verify(token=idp.token())
    assert idp.hits["/no-such-jwks"] == 1  # failures are rate-limited too
    clock.now += jwks.REFETCH_MIN_INTERVAL_SECONDS
    with pytest.raises(ExternalTokenRejected, match="issuer keys unavailable"):
        external_token_verify(token=idp.token())
    assert idp.hits["/no-such-jwks"] == 2


def test_known_keys_keep_working_while_the_idp_is_down(
    trusted: TrustedIssuer, idp: LocalIdP, clock: Clock
):
    external_token_verify(token=idp.token())
    idp.down = True
    clock.now += jwks.JWKS_TTL_SECONDS
    for _ in range(3):
        external_token_verify(token=idp.token())
    assert idp.hits["/jwks"] == 2  # the first load and one failed refresh

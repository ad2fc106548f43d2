"""Opaque tokens are checked by RFC 7662 introspection at the configured issuer."""

from __future__ import annotations

import time

import pytest

from controlplane.federation.models import TrustedIssuer
from controlplane.federation.services import trusted_issuer_create
from controlplane.federation.verification import ExternalTokenRejected, external_token_verify
from tests.controlplane.federation.local_idp import AUDIENCE, CLIENT_ID, LocalIdP


def refused(token: str) -> str:
    with pytest.raises(ExternalTokenRejected) as caught:
        external_token_verify(token=token)
    return caught.value.reason


def test_an_active_opaque_token_is_accepted(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    issuer, claims = external_token_verify(token=idp.opaque_token())
    assert issuer == trusted
    assert claims["client_id"] == CLIENT_ID
    assert idp.hits["/introspect"] == 1


def test_an_unknown_opaque_token_is_inactive_and_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    assert refused("a" * 40) == "token is not active"


def test_an_expired_introspected_token_is_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.opaque_token(exp=int(time.time()) - 120)) == "token expired"


def test_an_introspected_token_for_another_audience_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    assert refused(idp.opaque_token(aud="https://other.app")) == "token is for another audience"


def test_an_introspected_token_from_another_issuer_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    assert refused(idp.opaque_token(iss="https://evil.example")) == (
        "token from an untrusted issuer"
    )


def test_active_must_be_exactly_true(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.opaque_token(active="true")) == "token is not active"


def test_wrong_introspection_credentials_refuse_the_token(db: None, idp: LocalIdP) -> None:
    trusted_issuer_create(
        actor=None,
        name="misconfigured",
        issuer=idp.issuer,
        audience=AUDIENCE,
        algorithms=["RS256"],
        jwks_url=idp.jwks_url,
        introspection_url=idp.introspection_url,
        introspection_client_id="gatehouse-introspector",
        introspection_client_secret="wrong",
    )
    assert refused(idp.opaque_token()).startswith("token introspection failed")


def test_opaque_tokens_are_refused_without_an_introspecting_issuer(db: None, idp: LocalIdP) -> None:
    trusted_issuer_create(
        actor=None, name="jwt-only", issuer=idp.issuer, audience=AUDIENCE, algorithms=["RS256"]
    )
    assert refused(idp.opaque_token()).startswith("opaque tokens are not accepted")


def test_an_introspected_token_without_expiry_is_refused(
    trusted: TrustedIssuer, idp: LocalIdP
) -> None:
    assert refused(idp.opaque_token(exp=None)) == "token lacks a valid expiry"


def test_malformed_introspected_times_are_refused(trusted: TrustedIssuer, idp: LocalIdP) -> None:
    assert refused(idp.opaque_token(nbf="soon")) == "token time claims are malformed"

"""Fixtures shared by federation and token-exchange tests: an IdP on loopback, Gatehouse
trusting it, and agent-smith bound to its client. Import them by name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from controlplane.federation.jwks import JWKS
from controlplane.federation.models import TrustedIssuer
from controlplane.federation.services import (
    service_account_binding_create,
    trusted_issuer_create,
)
from controlplane.identities.models import User
from tests.controlplane.federation.local_idp import (
    AUDIENCE,
    CLIENT_ID,
    INTROSPECTION_CLIENT,
    LocalIdP,
)


@pytest.fixture(autouse=True)
def fresh_jwks_cache() -> Iterator[None]:
    JWKS.clear()
    yield
    JWKS.clear()


@pytest.fixture
def idp() -> Iterator[LocalIdP]:
    with LocalIdP() as running:
        yield running


@pytest.fixture
def trusted(db: None, idp: LocalIdP) -> TrustedIssuer:
    return trusted_issuer_create(
        actor=None,
        name="corp-idp",
        issuer=idp.issuer,
        audience=AUDIENCE,
        algorithms=["RS256", "ES256", "EdDSA"],
        jwks_url=idp.jwks_url,
        introspection_url=idp.introspection_url,
        introspection_client_id=INTROSPECTION_CLIENT[0],
        introspection_client_secret=INTROSPECTION_CLIENT[1],
        leeway_seconds=30,
    )


@pytest.fixture
def smith_bound(trusted: TrustedIssuer, agent_smith: User) -> User:
    service_account_binding_create(
        actor=None, issuer=trusted, subject=CLIENT_ID, service_account=agent_smith
    )
    return agent_smith

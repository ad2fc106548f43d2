"""The control plane verifies its own gateway tokens as strictly as agents do: one algorithm,
its own keys, every claim, an active identity, and an ``act`` naming an active person."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import timezone

from controlplane.identities.models import SigningKey, User
from controlplane.identities.tokens import (
    GatewayTokenRejected,
    _private_key,
    gateway_token_mint,
    gateway_token_verify,
    signing_key_current,
    signing_key_rotate,
)
from dataplane.contract import TOKEN_AUDIENCE, TOKEN_ISSUER


def _claims(identity: User, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": str(identity.pk),
        "kind": identity.kind,
        "name": identity.username,
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


def _signed(claims: dict[str, object], key: SigningKey | None = None) -> str:
    key = key or signing_key_current()
    return jwt.encode(claims, _private_key(key), algorithm="EdDSA", headers={"kid": key.kid})


def test_a_minted_token_names_its_identity(db: None, alice: User) -> None:
    token = gateway_token_mint(actor=alice, identity=alice).token
    assert gateway_token_verify(token) == (alice, None)


def test_an_agent_token_names_the_person_it_acts_for(
    db: None, agent_smith: User, alice: User
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=alice).token
    assert gateway_token_verify(token) == (agent_smith, alice)


def test_a_token_signed_by_a_retired_key_still_verifies_until_it_expires(
    db: None, alice: User
) -> None:
    token = gateway_token_mint(actor=alice, identity=alice).token
    signing_key_rotate(actor=None)
    assert gateway_token_verify(token)[0] == alice


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "someone-else"},
        {"iss": "elsewhere"},
        {"exp": int(time.time()) - 60},
        {"iat": int(time.time()) + 600},
        {"jti": None},
        {"kind": "user"},
    ],
    ids=["audience", "issuer", "expired", "future", "no-jti", "wrong-kind"],
)
def test_a_token_with_a_bad_claim_is_rejected(
    db: None, agent_smith: User, change: dict[str, object]
) -> None:
    with pytest.raises(GatewayTokenRejected):
        gateway_token_verify(_signed(_claims(agent_smith, **change)))


def test_a_token_signed_by_a_foreign_key_is_rejected(db: None, alice: User) -> None:
    kid = signing_key_current().kid
    forged = jwt.encode(
        _claims(alice), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid}
    )
    with pytest.raises(GatewayTokenRejected, match="invalid"):
        gateway_token_verify(forged)


def test_a_token_naming_an_unknown_key_is_rejected(db: None, alice: User) -> None:
    key = signing_key_current()
    token = jwt.encode(
        _claims(alice), _private_key(key), algorithm="EdDSA", headers={"kid": "nope"}
    )
    with pytest.raises(GatewayTokenRejected, match="unknown key"):
        gateway_token_verify(token)


def test_a_key_retired_longer_than_a_token_lives_verifies_nothing(db: None, alice: User) -> None:
    token = gateway_token_mint(actor=alice, identity=alice).token
    signing_key_rotate(actor=None)
    SigningKey.objects.exclude(retired_at=None).update(
        retired_at=timezone.now() - timedelta(days=2)
    )
    with pytest.raises(GatewayTokenRejected, match="unknown key"):
        gateway_token_verify(token)


def test_a_symmetric_token_is_rejected(db: None, alice: User) -> None:
    token = jwt.encode(_claims(alice), "secret" * 8, algorithm="HS256")
    with pytest.raises(GatewayTokenRejected):
        gateway_token_verify(token)


def test_garbage_is_rejected(db: None) -> None:
    for token in ("", "not-a-jwt", "a.b.c", "x" * 9000):
        with pytest.raises(GatewayTokenRejected):
            gateway_token_verify(token)


def test_a_disabled_identity_proves_nothing(db: None, alice: User) -> None:
    token = gateway_token_mint(actor=alice, identity=alice).token
    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(GatewayTokenRejected, match="no active identity"):
        gateway_token_verify(token)


def test_an_agent_acting_for_a_disabled_person_is_rejected(
    db: None, agent_smith: User, alice: User
) -> None:
    token = gateway_token_mint(actor=None, identity=agent_smith, on_behalf_of=alice).token
    User.objects.filter(pk=alice.pk).update(is_active=False)
    with pytest.raises(GatewayTokenRejected, match="no active person"):
        gateway_token_verify(token)


def test_a_person_cannot_claim_to_act_for_someone(db: None, alice: User, carol: User) -> None:
    act = {"sub": str(carol.pk), "kind": "user", "name": "carol"}
    with pytest.raises(GatewayTokenRejected, match="no active person"):
        gateway_token_verify(_signed(_claims(alice, act=act)))

"""Gateway tokens: EdDSA JWTs agents verify offline with the pushed public keys."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from pytest_django import Settings

from controlplane.agents.revision import config_revision_current
from controlplane.identities.models import SigningKey, User
from controlplane.identities.tokens import (
    gateway_token_mint,
    signing_key_current,
    signing_key_rotate,
    signing_keys_verifying,
)
from dataplane.contract import TOKEN_AUDIENCE, TOKEN_ISSUER


def _verify(token: str) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    public_key = SigningKey.objects.get(kid=kid).public_key_pem
    return jwt.decode(
        token, public_key, algorithms=["EdDSA"], audience=TOKEN_AUDIENCE, issuer=TOKEN_ISSUER
    )


def test_a_minted_token_verifies_with_the_published_public_key(db: None, agent_smith: User) -> None:
    minted = gateway_token_mint(actor=agent_smith, identity=agent_smith)
    header = jwt.get_unverified_header(minted.token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == minted.kid
    claims = _verify(minted.token)
    assert claims["sub"] == str(agent_smith.pk)
    assert claims["kind"] == "service_account"
    assert claims["name"] == "agent-smith"
    assert claims["jti"] == minted.jti
    assert claims["exp"] == int(minted.expires_at.timestamp())


def test_every_token_has_its_own_jti(db: None, alice: User) -> None:
    first = gateway_token_mint(actor=alice, identity=alice)
    second = gateway_token_mint(actor=alice, identity=alice)
    assert first.jti != second.jti


def test_without_a_ttl_a_token_lives_the_configured_lifetime(
    db: None, alice: User, settings: Settings
) -> None:
    settings.GATEHOUSE_TOKEN_TTL_SECONDS = 600
    claims = _verify(gateway_token_mint(actor=alice, identity=alice).token)
    assert claims["exp"] - claims["iat"] == 600


def test_a_shorter_ttl_is_honoured(db: None, alice: User) -> None:
    claims = _verify(gateway_token_mint(actor=alice, identity=alice, ttl_seconds=60).token)
    assert claims["exp"] - claims["iat"] == 60


def test_a_ttl_above_the_maximum_is_capped(db: None, alice: User, settings: Settings) -> None:
    settings.GATEHOUSE_TOKEN_TTL_SECONDS = 900
    claims = _verify(gateway_token_mint(actor=alice, identity=alice, ttl_seconds=86400).token)
    assert claims["exp"] - claims["iat"] == 900


def test_a_non_positive_ttl_is_refused(db: None, alice: User) -> None:
    with pytest.raises(ValidationError):
        gateway_token_mint(actor=alice, identity=alice, ttl_seconds=0)


def test_a_disabled_identity_gets_no_token(db: None, bob: User, alice: User) -> None:
    alice.is_active = False
    alice.save()
    with pytest.raises(ValidationError, match="disabled"):
        gateway_token_mint(actor=bob, identity=alice)


def test_the_first_signing_key_is_created_on_first_use_and_bumps_the_revision(db: None) -> None:
    before = config_revision_current()
    key = signing_key_current()
    assert signing_key_current() == key
    assert config_revision_current() == before + 1
    assert "PRIVATE KEY" not in key.private_key_ciphertext
    assert key.public_key_pem.startswith("-----BEGIN PUBLIC KEY-----")


def test_rotation_signs_new_tokens_with_a_new_key_and_old_tokens_keep_verifying(
    db: None, bob: User, alice: User
) -> None:
    old_token = gateway_token_mint(actor=alice, identity=alice)
    new_key = signing_key_rotate(actor=bob)
    new_token = gateway_token_mint(actor=alice, identity=alice)
    assert new_token.kid == new_key.kid != old_token.kid
    assert _verify(old_token.token)["sub"] == str(alice.pk)
    assert {k.kid for k in signing_keys_verifying()} == {old_token.kid, new_key.kid}


def test_a_retired_key_stops_being_published_once_its_tokens_must_have_expired(
    db: None, bob: User, settings: Settings
) -> None:
    settings.GATEHOUSE_TOKEN_TTL_SECONDS = 900
    old = signing_key_current()
    signing_key_rotate(actor=bob)
    retired_at = SigningKey.objects.get(pk=old.pk).retired_at
    assert old.kid in {
        k.kid for k in signing_keys_verifying(at=retired_at + timedelta(seconds=899))
    }
    assert old.kid not in {
        k.kid for k in signing_keys_verifying(at=retired_at + timedelta(seconds=901))
    }
    assert timezone.now() < retired_at + timedelta(seconds=900)

"""Gateway tokens: short-lived JWTs (EdDSA) that agents verify offline.

The control plane signs with the newest active ``SigningKey``; agents receive every key
that may still have signed a live token in their config snapshot. Rotation retires the
current key and creates a new one; a retired key stays in snapshots until
``retired_at + GATEHOUSE_TOKEN_TTL_SECONDS``, by which time every token it signed has
expired. (Lowering the TTL setting shortens that window for tokens minted before.)

A token minted for an AI agent launched by a person carries ``act: {"sub", "kind", "name"}``
naming that person. Note the direction: RFC 8693 puts the *acting* party in ``act`` and the
principal in ``sub``; here ``sub`` stays the agent, because the agent's own grants are what
the gateway enforces, and ``act`` names the human it acts for ("on behalf of"). Agents copy
it into every audit event of the session.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from controlplane.agents.revision import config_revision_bump
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.crypto import decrypt, encrypt
from controlplane.identities.models import SigningKey, User
from dataplane.contract import TOKEN_AUDIENCE, TOKEN_ISSUER

# The agents' limits (dataplane/core/tokens.py): the same token passes or fails in both places.
MAX_TOKEN_BYTES = 8 * 1024
VERIFY_LEEWAY_SECONDS = 5
REQUIRED_CLAIMS = ("iss", "aud", "sub", "kind", "name", "exp", "iat", "jti")


class GatewayTokenRejected(Exception):
    """A gateway token that must not be accepted; the message is safe to show and log (it
    never contains the token)."""


@dataclass(frozen=True)
class MintedToken:
    token: str = field(repr=False)
    jti: str
    kid: str
    expires_at: datetime


def token_ttl_max() -> timedelta:
    """The longest (and default) lifetime of a gateway token."""
    return timedelta(seconds=settings.GATEHOUSE_TOKEN_TTL_SECONDS)


def gateway_token_mint(
    *,
    actor: User | None,
    identity: User,
    ttl_seconds: int | None = None,
    on_behalf_of: User | None = None,
) -> MintedToken:
    """Mint a gateway token for ``identity``, asked for by ``actor`` (the identity itself,
    an administrator, or None for the command line). A ``ttl_seconds`` above the
    configured maximum is capped to it; omitted, the token lives for the maximum.

    ``on_behalf_of`` is the person a service account acts for; it goes into the ``act``
    claim and into the audit event."""
    if not identity.is_active:
        raise ValidationError({"identity": [f"{identity.username!r} is disabled"]})
    _on_behalf_of_check(identity, on_behalf_of)
    key = signing_key_current()
    issued_at = int(timezone.now().timestamp())
    expires_at = issued_at + _ttl_seconds(ttl_seconds)
    jti = str(uuid.uuid4())
    claims = _claims(identity=identity, issued_at=issued_at, expires_at=expires_at, jti=jti)
    if on_behalf_of is not None:
        claims["act"] = act_claim(on_behalf_of)
    token = jwt.encode(
        claims, _private_key(key), algorithm=SigningKey.ALGORITHM, headers={"kid": key.kid}
    )
    minted = MintedToken(
        token=token, jti=jti, kid=key.kid, expires_at=datetime.fromtimestamp(expires_at, UTC)
    )
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.TOKEN_MINTED,
            payload=_minted_payload(identity, minted),
            on_behalf_of=on_behalf_of,
        )
    return minted


def gateway_token_verify(token: str) -> tuple[User, User | None]:
    """The active identity a gateway token proves, and the active person it acts for (its
    ``act`` claim) or None. The agents' checks, with the control plane's own keys: EdDSA
    only, a ``kid`` among the keys that may still have signed a live token, ``iss``/``aud``
    exactly ours, every claim required, ``exp``/``iat`` within a few seconds of skew; then
    the ``sub`` must be an active identity of the token's ``kind``. Raises
    GatewayTokenRejected."""
    if len(token.encode("utf-8", "surrogatepass")) > MAX_TOKEN_BYTES:
        raise GatewayTokenRejected("token too large")
    claims = _verified_claims(token, _verifying_key(token))
    identity = _token_identity(claims)
    return identity, _token_on_behalf_of(claims, identity)


def _verifying_key(token: str) -> Ed25519PublicKey:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise GatewayTokenRejected("token is malformed") from None
    kid = header.get("kid")
    if header.get("alg") != SigningKey.ALGORITHM or not isinstance(kid, str):
        raise GatewayTokenRejected("token algorithm or key id not accepted")
    key = signing_keys_verifying().filter(kid=kid).first()
    if key is None:
        raise GatewayTokenRejected("token signed with an unknown key")
    public_key = serialization.load_pem_public_key(key.public_key_pem.encode("ascii"))
    if not isinstance(public_key, Ed25519PublicKey):
        raise GatewayTokenRejected("token signed with an unknown key")
    return public_key


def _verified_claims(token: str, key: Ed25519PublicKey) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[SigningKey.ALGORITHM],
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            leeway=VERIFY_LEEWAY_SECONDS,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": True},
        )
    except jwt.ExpiredSignatureError:
        raise GatewayTokenRejected("token expired") from None
    except jwt.PyJWTError:
        raise GatewayTokenRejected("token is invalid") from None
    if claims["iat"] > timezone.now().timestamp() + VERIFY_LEEWAY_SECONDS:
        raise GatewayTokenRejected("token issued in the future")
    return claims


def _token_identity(claims: dict[str, Any]) -> User:
    identity = _active_user(claims["sub"])
    if identity is None or identity.kind != claims["kind"]:
        raise GatewayTokenRejected("token names no active identity")
    return identity


def _token_on_behalf_of(claims: dict[str, Any], identity: User) -> User | None:
    act = claims.get("act")
    if act is None:
        return None
    person = _active_user(act.get("sub")) if isinstance(act, dict) else None
    if person is None or person.kind != User.Kind.USER or not identity.is_service_account:
        raise GatewayTokenRejected("token acts for no active person")
    return person


def _active_user(sub: object) -> User | None:
    if not isinstance(sub, str):
        return None
    try:
        return User.objects.filter(pk=uuid.UUID(sub), is_active=True).first()
    except ValueError:
        return None


def act_claim(person: User) -> dict[str, str]:
    """The ``act`` claim naming the person a token's identity acts for."""
    return {"sub": str(person.pk), "kind": person.kind, "name": person.get_username()}


def _on_behalf_of_check(identity: User, person: User | None) -> None:
    # Only agents act for people, and only for active people: the audit trail must name
    # someone who could have launched the agent.
    if person is None:
        return
    if not identity.is_service_account:
        raise ValidationError({"on_behalf_of": ["only service accounts act on behalf of someone"]})
    if person.kind != User.Kind.USER or not person.is_active:
        raise ValidationError({"on_behalf_of": [f"{person.username!r} is not an active person"]})


def signing_key_current() -> SigningKey:
    """The key that signs new tokens; the first one is created on first use."""
    key = SigningKey.objects.active().first()
    if key is not None:
        return key
    with transaction.atomic():
        # Bumping takes the revision row's lock, so concurrent first uses queue here and
        # the re-check below sees a key another request has just created.
        config_revision_bump()
        key = SigningKey.objects.active().first()
        if key is None:
            key = _signing_key_new()
            audit_event_record(
                actor=None, action=ControlPlaneAction.SIGNING_KEY_CREATED, payload={"kid": key.kid}
            )
        return key


def signing_key_rotate(*, actor: User | None) -> SigningKey:
    """Retire the active signing key(s) and start signing with a new one. Tokens signed by
    the retired key keep working until they expire."""
    with transaction.atomic():
        config_revision_bump()
        retired = list(SigningKey.objects.active().values_list("kid", flat=True))
        SigningKey.objects.active().update(retired_at=timezone.now())
        key = _signing_key_new()
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.SIGNING_KEY_ROTATED,
            payload={"kid": key.kid, "retired": retired},
        )
        return key


def signing_keys_verifying(*, at: datetime | None = None) -> QuerySet[SigningKey]:
    """Keys agents must accept at ``at`` (default now): the active one and retired ones
    that may still have signed a live token."""
    return SigningKey.objects.verifying(at=at or timezone.now(), max_token_ttl=token_ttl_max())


def _ttl_seconds(requested: int | None) -> int:
    maximum = settings.GATEHOUSE_TOKEN_TTL_SECONDS
    if requested is None:
        return int(maximum)
    if requested < 1:
        raise ValidationError({"ttl_seconds": ["must be at least 1"]})
    return int(min(requested, maximum))


def _claims(*, identity: User, issued_at: int, expires_at: int, jti: str) -> dict[str, object]:
    return {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": str(identity.pk),
        "kind": identity.kind,
        "name": identity.username,
        "iat": issued_at,
        "exp": expires_at,
        "jti": jti,
    }


def _minted_payload(identity: User, minted: MintedToken) -> dict[str, str]:
    return {
        "identity": str(identity.pk),
        "identity_name": identity.username,
        "kind": identity.kind,
        "jti": minted.jti,
        "kid": minted.kid,
        "expires_at": minted.expires_at.isoformat(),
    }


def _signing_key_new() -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
    kid = f"{timezone.now():%Y%m%d}-{secrets.token_hex(4)}"
    return SigningKey.objects.create(
        kid=kid, private_key_ciphertext=encrypt(private_pem), public_key_pem=public_pem
    )


def _private_key(key: SigningKey) -> Ed25519PrivateKey:
    loaded = serialization.load_pem_private_key(
        decrypt(key.private_key_ciphertext).encode(), password=None
    )
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TypeError(f"signing key {key.kid} is not an Ed25519 key")
    return loaded

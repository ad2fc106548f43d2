"""The versioned config snapshot the control plane pushes to an agent.

A snapshot holds only what one agent needs: its own resources (with upstream credentials),
the active grants on them, and the public keys that verify gateway tokens. ``revision``
increases with every change anywhere in the control plane's config, so an agent can tell an
old snapshot from a new one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from dataplane.contract.envelopes import ContractError

SNAPSHOT_FORMAT = 1
TOKEN_ISSUER = "gatehouse"
TOKEN_AUDIENCE = "gatehouse-agent"


@dataclass(frozen=True)
class TokenKey:
    kid: str
    alg: str  # "EdDSA"
    public_key_pem: str


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    protocol: str  # "postgres"
    host: str
    port: int
    database: str
    upstream_user: str
    upstream_password: str = field(repr=False)
    upstream_tls: str = "prefer"  # "disable" | "prefer" | "require"

    def __repr__(self) -> str:  # never print the password
        return f"ResourceSpec(name={self.name!r}, protocol={self.protocol!r})"


@dataclass(frozen=True)
class GrantSpec:
    id: str
    identity: str  # the token's ``sub``
    resource: str  # ResourceSpec.name
    expires_at: datetime  # timezone-aware


@dataclass(frozen=True)
class Snapshot:
    revision: int
    agent_id: str
    agent_name: str
    token_keys: tuple[TokenKey, ...]
    resources: tuple[ResourceSpec, ...]
    grants: tuple[GrantSpec, ...]
    token_issuer: str = TOKEN_ISSUER
    token_audience: str = TOKEN_AUDIENCE
    format: int = SNAPSHOT_FORMAT

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["grants"] = [
            {**asdict(g), "expires_at": g.expires_at.isoformat()} for g in self.grants
        ]
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Snapshot:
        """Read a snapshot document, upgrading older formats; ContractError if malformed."""
        document = upgrade_snapshot(document)
        try:
            return cls(
                revision=int(document["revision"]),
                agent_id=str(document["agent_id"]),
                agent_name=str(document["agent_name"]),
                token_keys=tuple(TokenKey(**k) for k in document["token_keys"]),
                resources=tuple(ResourceSpec(**r) for r in document["resources"]),
                grants=tuple(_grant_from_dict(g) for g in document["grants"]),
                token_issuer=str(document["token_issuer"]),
                token_audience=str(document["token_audience"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"malformed snapshot: {exc}") from exc


def _grant_from_dict(document: dict[str, Any]) -> GrantSpec:
    expires_at = datetime.fromisoformat(document["expires_at"])
    if expires_at.tzinfo is None:
        raise ValueError("grant expiry must carry a timezone")
    return GrantSpec(
        id=str(document["id"]),
        identity=str(document["identity"]),
        resource=str(document["resource"]),
        expires_at=expires_at,
    )


def upgrade_snapshot(document: dict[str, Any]) -> dict[str, Any]:
    """Bring an older snapshot format up to SNAPSHOT_FORMAT (none older exists yet)."""
    version = document.get("format")
    if version != SNAPSHOT_FORMAT:
        raise ContractError(f"unsupported snapshot format {version!r}")
    return document

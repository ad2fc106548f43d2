"""The versioned config snapshot the control plane pushes to an agent.

A snapshot holds only what one agent needs: its own resources (with upstream credentials),
the active grants on them, and the public keys that verify gateway tokens. ``revision``
increases with every change anywhere in the control plane's config, so an agent can tell an
old snapshot from a new one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dataplane.contract.envelopes import ContractError

# 2: access levels, credential modes, grant start and access level. 3: grant scope.
SNAPSHOT_FORMAT = 3
TOKEN_ISSUER = "gatehouse"
TOKEN_AUDIENCE = "gatehouse-agent"


@dataclass(frozen=True)
class TokenKey:
    kid: str
    alg: str  # "EdDSA"
    public_key_pem: str


@dataclass(frozen=True)
class AccessLevel:
    """A named level of access on a resource and the upstream role that carries it
    (PostgreSQL: e.g. "read-only" -> a role with SELECT only)."""

    name: str
    upstream_role: str


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
    # "static": sessions log in as upstream_user. "ephemeral": the agent logs in as
    # upstream_user only to create a per-session role in the grant's access level.
    credential_mode: str = "static"
    access_levels: tuple[AccessLevel, ...] = ()
    # The level a grant without its own access_level gets; "" = none (ephemeral: refused).
    default_access_level: str = ""

    def __repr__(self) -> str:  # never print the password
        return f"ResourceSpec(name={self.name!r}, protocol={self.protocol!r})"


class GrantScope(StrEnum):
    """How much a grant admits before it ends (always within [starts_at, expires_at))."""

    DURATION = "duration"  # any number of sessions until it expires
    SESSION = "session"  # exactly one session; the grant ends with it
    CALL = "call"  # one session running exactly one statement (one Query, or one cycle to Sync)


@dataclass(frozen=True)
class GrantSpec:
    id: str
    identity: str  # the token's ``sub``
    resource: str  # ResourceSpec.name
    expires_at: datetime  # timezone-aware
    starts_at: datetime | None = None  # None: already started
    access_level: str = ""  # an AccessLevel.name of the resource; "" = the static login
    scope: str = GrantScope.DURATION  # a GrantScope value

    @property
    def single_use(self) -> bool:
        """True when the grant admits one session only (scope session or call)."""
        return self.scope != GrantScope.DURATION


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
        document["grants"] = [_grant_to_dict(g) for g in self.grants]
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Snapshot:
        """Read a snapshot document, upgrading older formats; ContractError if malformed."""
        try:
            document = upgrade_snapshot(document)
            return cls(
                revision=int(document["revision"]),
                agent_id=str(document["agent_id"]),
                agent_name=str(document["agent_name"]),
                token_keys=tuple(TokenKey(**k) for k in document["token_keys"]),
                resources=tuple(_resource_from_dict(r) for r in document["resources"]),
                grants=tuple(_grant_from_dict(g) for g in document["grants"]),
                token_issuer=str(document["token_issuer"]),
                token_audience=str(document["token_audience"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"malformed snapshot: {exc}") from exc


def _grant_to_dict(grant: GrantSpec) -> dict[str, Any]:
    return {
        **asdict(grant),
        "expires_at": grant.expires_at.isoformat(),
        "starts_at": grant.starts_at.isoformat() if grant.starts_at else None,
    }


def _resource_from_dict(document: dict[str, Any]) -> ResourceSpec:
    levels = tuple(AccessLevel(**level) for level in document.get("access_levels", ()))
    return ResourceSpec(**{**document, "access_levels": levels})


def _aware(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("grant times must carry a timezone")
    return moment


def _grant_from_dict(document: dict[str, Any]) -> GrantSpec:
    starts_at = document.get("starts_at")
    return GrantSpec(
        id=str(document["id"]),
        identity=str(document["identity"]),
        resource=str(document["resource"]),
        expires_at=_aware(document["expires_at"]),
        starts_at=_aware(starts_at) if starts_at else None,
        access_level=str(document.get("access_level", "")),
        scope=_scope(document.get("scope", GrantScope.DURATION)),
    )


def _scope(value: object) -> GrantScope:
    # Unknown scopes are refused (ContractError), never read as "duration": an agent that
    # does not understand a usage limit must not hand out unlimited sessions.
    return GrantScope(str(value))


def upgrade_snapshot(document: dict[str, Any]) -> dict[str, Any]:
    """Bring an older snapshot format up to SNAPSHOT_FORMAT.

    Format 1 had no access levels, credential modes or grant start/level: the defaults
    (static credentials, grants already started, no level) mean exactly what format 1 did.
    Format 2 had no grant scope: every grant was a "duration" grant, which is what the
    default means.
    """
    version = document.get("format")
    if version in (1, 2):
        grants = [{**grant, "scope": GrantScope.DURATION.value} for grant in document["grants"]]
        return {**document, "grants": grants, "format": SNAPSHOT_FORMAT}
    if version != SNAPSHOT_FORMAT:
        raise ContractError(f"unsupported snapshot format {version!r}")
    return document

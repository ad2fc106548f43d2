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
# 4: masking profiles, the deployment's masking key and each grant's masking profile.
# 5: guardrail profiles and each grant's guardrail profile.
# 6: HTTP and LLM resources (ResourceSpec.http).
SNAPSHOT_FORMAT = 6
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


class HttpAuth(StrEnum):
    """How the agent proves itself to an HTTP upstream. The secret is the resource's
    ``upstream_password`` (API key, basic password or OAuth client secret); ``upstream_user``
    is the basic-auth user or the OAuth client id. The caller never sees either."""

    NONE = "none"
    HEADER = "header"  # auth_header: auth_value_prefix + secret (e.g. "Authorization: Bearer …")
    BASIC = "basic"  # Authorization: Basic base64(user:secret)
    OAUTH_CLIENT_CREDENTIALS = "oauth_client_credentials"  # token from token_url, refreshed


class LlmApi(StrEnum):
    """The request and response shapes an ``llm`` resource speaks (it may serve several
    paths: OpenAI Chat Completions and Responses share one upstream)."""

    OPENAI = "openai"  # /v1/chat/completions, /v1/responses (and /v1/models etc. relayed)
    ANTHROPIC = "anthropic"  # /v1/messages


class PromptPrivacy(StrEnum):
    """What happens to PII in an LLM request body before it reaches the provider."""

    OFF = "off"  # sent as is (the audit trail is still masked)
    MASK = "mask"  # replaced by the masking profile's strategies, one way
    REVERSIBLE = "reversible"  # replaced by placeholders, restored in the response


@dataclass(frozen=True)
class HttpRoute:
    """A method and path rule: ``methods`` () = any method; ``path`` is matched against the
    upstream path (without the query) with shell-style wildcards, ``*`` within and across
    segments (fnmatch), e.g. "/v1/chat/*"."""

    path: str
    methods: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpSettings:
    """How an ``http`` or ``llm`` resource is reached and what passes through.

    A request is refused when it matches a ``deny`` route, when ``allow`` is non-empty and
    it matches none, or (``read_only``) when its method is not GET, HEAD or OPTIONS.
    Budgets and the rate limit count per identity on this resource, per agent.
    """

    scheme: str = "https"  # the upstream's: "http" | "https"
    base_path: str = ""  # prefixed to every upstream path, e.g. "/api"
    tls_verify: bool = True
    auth: str = HttpAuth.NONE  # an HttpAuth value
    auth_header: str = "Authorization"
    auth_value_prefix: str = "Bearer "
    token_url: str = ""  # oauth_client_credentials
    oauth_scope: str = ""
    allow: tuple[HttpRoute, ...] = ()
    deny: tuple[HttpRoute, ...] = ()
    read_only: bool = False
    max_request_bytes: int = 10 * 1024 * 1024
    max_response_bytes: int = 100 * 1024 * 1024
    timeout_s: float = 60.0
    # llm resources only ("" for http)
    llm_api: str = ""  # an LlmApi value
    prompt_privacy: str = PromptPrivacy.MASK  # a PromptPrivacy value
    budget_tokens: int = 0  # tokens per identity per window; 0 = unlimited
    budget_calls: int = 0  # calls per identity per window; 0 = unlimited
    budget_window_s: int = 3600
    rate_limit_per_minute: int = 0  # requests per identity per minute; 0 = unlimited


@dataclass(frozen=True)
class ResourceSpec:
    name: str
    protocol: str  # "postgres" | "http" | "llm"
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
    # http and llm resources: how they are reached (host/port are the upstream's; the
    # database field is unused); None for other protocols.
    http: HttpSettings | None = None

    def __repr__(self) -> str:  # never print the password
        return f"ResourceSpec(name={self.name!r}, protocol={self.protocol!r})"


class GrantScope(StrEnum):
    """How much a grant admits before it ends (always within [starts_at, expires_at))."""

    DURATION = "duration"  # any number of sessions until it expires
    SESSION = "session"  # exactly one session; the grant ends with it
    CALL = "call"  # one session running exactly one statement (one Query, or one cycle to Sync)


class MaskingFailure(StrEnum):
    """What happens to a statement when masking a value fails or runs out of time. Either
    way the value itself is never passed on unmasked."""

    REDACT = "redact"  # the value becomes a redaction marker; the statement goes on
    ERROR = "error"  # the statement ends with an error for the client


@dataclass(frozen=True)
class CustomPattern:
    """A deployment's own recogniser: a regular expression, optionally with a validator
    ("luhn", "iban", ... from the masking engine's validator names; "" = none)."""

    name: str
    entity: str
    regex: str
    score: float = 0.8
    validator: str = ""
    context: tuple[str, ...] = ()
    context_required: bool = False


@dataclass(frozen=True)
class MaskingProfile:
    """How the results of the sessions on a grant are masked (a control-plane masking
    policy, resolved for that grant's identity and resource).

    ``strategies`` maps an entity to "redact" | "partial" | "hash" | "format_preserving";
    entities not named get ``default_strategy``. ``entities`` limits detection to those
    entities ("" tuple = every built-in one). ``column_rules`` masks a whole column by name
    as an entity; ``json_key_rules`` does the same for a dotted JSON key path.
    """

    name: str
    default_strategy: str = "redact"
    strategies: dict[str, str] = field(default_factory=dict)
    entities: tuple[str, ...] = ()
    column_rules: dict[str, str] = field(default_factory=dict)
    json_key_rules: dict[str, str] = field(default_factory=dict)
    deny_list: tuple[str, ...] = ()
    custom_patterns: tuple[CustomPattern, ...] = ()
    on_failure: str = MaskingFailure.REDACT  # a MaskingFailure value
    # Masking time one statement may spend; past it, the rest of its values are treated as
    # failed (``on_failure``). Values longer than max_value_bytes are failed unscanned.
    statement_budget_ms: int = 5000
    max_value_bytes: int = 1024 * 1024


@dataclass(frozen=True)
class GuardrailProfile:
    """The guardrails the sessions on a grant run under (a control-plane guardrail policy,
    resolved for the grant's identity and resource).

    ``policy`` is a guardrail policy document (dataplane/guardrails/document.py, with its
    own ``format_version``); the agent refuses sessions on a grant whose profile it cannot
    read (fail closed). A held statement waits at most ``hold_timeout_s`` for a decision.
    """

    name: str
    policy: dict[str, Any]
    hold_timeout_s: int = 300


@dataclass(frozen=True)
class GrantSpec:
    id: str
    identity: str  # the token's ``sub``
    resource: str  # ResourceSpec.name
    expires_at: datetime  # timezone-aware
    starts_at: datetime | None = None  # None: already started
    access_level: str = ""  # an AccessLevel.name of the resource; "" = the static login
    scope: str = GrantScope.DURATION  # a GrantScope value
    # The MaskingProfile.name the sessions on this grant are masked with; "" = unmasked.
    masking: str = ""
    # The GuardrailProfile.name its statements are judged by; "" = no guardrails.
    guardrails: str = ""

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
    masking_profiles: tuple[MaskingProfile, ...] = ()
    # The deployment's key for keyed masking (hash, format_preserving), hex; same value,
    # same pseudonym, on every agent, so joins across results still work.
    masking_key: str = field(default="", repr=False)
    guardrail_profiles: tuple[GuardrailProfile, ...] = ()
    format: int = SNAPSHOT_FORMAT

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["grants"] = [_grant_to_dict(g) for g in self.grants]
        document["masking_profiles"] = [_profile_to_dict(p) for p in self.masking_profiles]
        return document

    def masking_profile(self, name: str) -> MaskingProfile | None:
        """The profile called ``name``; None for "" (unmasked)."""
        if not name:
            return None
        return next(p for p in self.masking_profiles if p.name == name)

    def guardrail_profile(self, name: str) -> GuardrailProfile | None:
        """The guardrail profile called ``name``; None for "" (no guardrails)."""
        if not name:
            return None
        return next(p for p in self.guardrail_profiles if p.name == name)

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Snapshot:
        """Read a snapshot document, upgrading older formats; ContractError if malformed."""
        try:
            document = upgrade_snapshot(document)
            snapshot = cls(
                revision=int(document["revision"]),
                agent_id=str(document["agent_id"]),
                agent_name=str(document["agent_name"]),
                token_keys=tuple(TokenKey(**k) for k in document["token_keys"]),
                resources=tuple(_resource_from_dict(r) for r in document["resources"]),
                grants=tuple(_grant_from_dict(g) for g in document["grants"]),
                token_issuer=str(document["token_issuer"]),
                token_audience=str(document["token_audience"]),
                masking_profiles=tuple(
                    _masking_profile_from_dict(p) for p in document["masking_profiles"]
                ),
                masking_key=str(document["masking_key"]),
                guardrail_profiles=tuple(
                    _guardrail_profile_from_dict(p) for p in document["guardrail_profiles"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"malformed snapshot: {exc}") from exc
        _check_masking_references(snapshot)
        return snapshot


def _check_masking_references(snapshot: Snapshot) -> None:
    """A grant naming a profile the snapshot lacks would leave its sessions' masking
    undefined: the snapshot is refused (fail closed)."""
    names = {p.name for p in snapshot.masking_profiles}
    guardrails = {p.name for p in snapshot.guardrail_profiles}
    for grant in snapshot.grants:
        if grant.masking and grant.masking not in names:
            raise ContractError(f"grant {grant.id} names unknown masking profile {grant.masking!r}")
        if grant.guardrails and grant.guardrails not in guardrails:
            raise ContractError(
                f"grant {grant.id} names unknown guardrail profile {grant.guardrails!r}"
            )
    keyed = {"hash", "format_preserving"}
    for profile in snapshot.masking_profiles:
        kinds = {profile.default_strategy, *profile.strategies.values()}
        if kinds & keyed and not snapshot.masking_key:
            raise ContractError(f"masking profile {profile.name!r} needs the masking key")


def _guardrail_profile_from_dict(document: dict[str, Any]) -> GuardrailProfile:
    policy = document["policy"]
    if not isinstance(policy, dict):
        raise ValueError("a guardrail profile's policy must be a JSON object")
    timeout = int(document.get("hold_timeout_s", 300))
    if timeout <= 0:
        raise ValueError("hold_timeout_s must be positive")
    return GuardrailProfile(name=str(document["name"]), policy=policy, hold_timeout_s=timeout)


def _masking_profile_from_dict(document: dict[str, Any]) -> MaskingProfile:
    failure = MaskingFailure(str(document.get("on_failure", MaskingFailure.REDACT)))
    return MaskingProfile(
        name=str(document["name"]),
        default_strategy=_strategy(document.get("default_strategy", "redact")),
        strategies={str(k): _strategy(v) for k, v in document.get("strategies", {}).items()},
        entities=tuple(str(e) for e in document.get("entities", ())),
        column_rules={str(k): str(v) for k, v in document.get("column_rules", {}).items()},
        json_key_rules={str(k): str(v) for k, v in document.get("json_key_rules", {}).items()},
        deny_list=tuple(str(t) for t in document.get("deny_list", ())),
        custom_patterns=tuple(
            CustomPattern(**{**p, "context": tuple(p.get("context", ()))})
            for p in document.get("custom_patterns", ())
        ),
        on_failure=failure.value,
        statement_budget_ms=int(document.get("statement_budget_ms", 5000)),
        max_value_bytes=int(document.get("max_value_bytes", 1024 * 1024)),
    )


MASKING_STRATEGIES = frozenset({"redact", "partial", "hash", "format_preserving"})


def _strategy(value: object) -> str:
    # An unknown strategy is refused, never read as "no masking".
    if value not in MASKING_STRATEGIES:
        raise ValueError(f"unknown masking strategy {value!r}")
    return str(value)


def _grant_to_dict(grant: GrantSpec) -> dict[str, Any]:
    return {
        **asdict(grant),
        "expires_at": grant.expires_at.isoformat(),
        "starts_at": grant.starts_at.isoformat() if grant.starts_at else None,
    }


def _profile_to_dict(profile: MaskingProfile) -> dict[str, Any]:
    # JSON arrays, never tuples: the document is built on by code that appends.
    document = asdict(profile)
    for key in ("entities", "deny_list"):
        document[key] = list(document[key])
    document["custom_patterns"] = [
        {**pattern, "context": list(pattern["context"])} for pattern in document["custom_patterns"]
    ]
    return document


def _resource_from_dict(document: dict[str, Any]) -> ResourceSpec:
    levels = tuple(AccessLevel(**level) for level in document.get("access_levels", ()))
    http = document.get("http")
    settings = http_settings_from_dict(http) if http is not None else None
    return ResourceSpec(**{**document, "access_levels": levels, "http": settings})


HTTP_SCHEMES = frozenset({"http", "https"})


def http_settings_from_dict(document: dict[str, Any]) -> HttpSettings:
    """Read and check an ``http`` settings document (the control plane validates a
    resource's settings with this same reader). Unknown keys or values raise ValueError:
    an agent must not guess at an access rule it does not understand."""
    if not isinstance(document, dict):
        raise ValueError("http settings must be a JSON object")
    unknown = set(document) - set(HttpSettings.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown http settings: {', '.join(sorted(unknown))}")
    values = {**document}
    for key in ("allow", "deny"):
        values[key] = tuple(_route_from_dict(r) for r in document.get(key, ()))
    settings = HttpSettings(**values)
    _http_settings_check(settings)
    return settings


def _route_from_dict(document: Any) -> HttpRoute:
    if not isinstance(document, dict) or not isinstance(document.get("path"), str):
        raise ValueError('an http route is {"path": "/pattern", "methods": [...]}')
    methods = document.get("methods", ())
    if not isinstance(methods, list | tuple) or not all(isinstance(m, str) for m in methods):
        raise ValueError("an http route's methods must be a list of strings")
    if set(document) - {"path", "methods"}:
        raise ValueError("an http route has only path and methods")
    return HttpRoute(path=document["path"], methods=tuple(m.upper() for m in methods))


def _http_settings_check(settings: HttpSettings) -> None:
    if settings.scheme not in HTTP_SCHEMES:
        raise ValueError(f"http scheme must be http or https, not {settings.scheme!r}")
    HttpAuth(settings.auth)
    PromptPrivacy(settings.prompt_privacy)
    if settings.llm_api:
        LlmApi(settings.llm_api)
    if settings.auth == HttpAuth.OAUTH_CLIENT_CREDENTIALS and not settings.token_url:
        raise ValueError("oauth_client_credentials needs a token_url")
    if settings.base_path and not settings.base_path.startswith("/"):
        raise ValueError("base_path must start with /")
    for name in (
        "max_request_bytes",
        "max_response_bytes",
        "budget_window_s",
    ):
        if int(getattr(settings, name)) <= 0:
            raise ValueError(f"{name} must be positive")
    for name in ("budget_tokens", "budget_calls", "rate_limit_per_minute"):
        if int(getattr(settings, name)) < 0:
            raise ValueError(f"{name} must not be negative")
    if not 0 < float(settings.timeout_s) <= 3600:
        raise ValueError("timeout_s must be within (0, 3600]")


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
        masking=str(document.get("masking", "")),
        guardrails=str(document.get("guardrails", "")),
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
    default means. Format 3 had no masking: no profiles, no key, every grant unmasked,
    which is what a control plane without masking meant. Format 4 had no guardrails. Format
    5 had no HTTP or LLM resources.
    """
    version = document.get("format")
    if version in (1, 2):
        grants = [{**grant, "scope": GrantScope.DURATION.value} for grant in document["grants"]]
        document = {**document, "grants": grants, "format": 3}
        version = 3
    if version == 3:
        document = {**document, "masking_profiles": [], "masking_key": "", "format": 4}
        version = 4
    if version == 4:
        document = {**document, "guardrail_profiles": [], "format": 5}
        version = 5
    if version == 5:
        # Format 5 knew only PostgreSQL resources: none has http settings.
        return {**document, "format": SNAPSHOT_FORMAT}
    if version != SNAPSHOT_FORMAT:
        raise ContractError(f"unsupported snapshot format {version!r}")
    return document

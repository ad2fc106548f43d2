"""The ordered addon chain every protocol driver calls at the same points of a session.

Addons see protocol-neutral events (authorise, session started, statement finished, session
ended, connection refused). Security hooks fail closed: an exception inside `authorize`
refuses the connection. The chain calls only the hooks an addon overrides, so an addon that
does not care about statements costs nothing on the hot path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from dataplane.contract import Actor
from dataplane.core.consumed_grants import GrantUse
from dataplane.core.session import Session
from dataplane.masking.values import MaskingTally

log = logging.getLogger("gatehouse.addons")


class RefusalKind(StrEnum):
    PROTOCOL_VIOLATION = "protocol_violation"
    TLS_REQUIRED = "tls_required"
    BAD_CREDENTIALS = "bad_credentials"
    UNKNOWN_RESOURCE = "unknown_resource"
    NO_GRANT = "no_grant"
    UPSTREAM_FAILED = "upstream_failed"
    NOT_READY = "not_ready"
    ADDON_FAILURE = "addon_failure"


@dataclass(frozen=True)
class Refusal:
    """Why a connection is not let through; `message` is safe to show the client."""

    kind: RefusalKind
    message: str
    detail: str = ""


@dataclass(frozen=True)
class ConnectRequest:
    """What a client presented: the resource it named and its gateway token."""

    resource: str
    token: str


@dataclass(frozen=True)
class Statement:
    """One executed command as the audit trail records it (SQL today; later any protocol)."""

    text: str
    kind: str  # protocol-specific flavour, e.g. "simple" | "extended" | "function"
    parameter_count: int
    command_tags: tuple[str, ...]
    rows: int | None
    error_code: str | None
    error_message: str | None
    duration_s: float
    # What masking did to this statement's results; None when the session is unmasked.
    masking: MaskingTally | None = None
    # The result's columns as (name, type name or "", protocol type id) when the relay
    # inspected the session (masked or guarded); empty otherwise.
    columns: tuple[tuple[str, str, int], ...] = ()
    # The first rows as the client received them: only ever from a masked session, so
    # only masked values (cells are short texts, None for NULL).
    sample_rows: tuple[tuple[str | None, ...], ...] = ()


@dataclass(frozen=True)
class GuardrailEvent:
    """A guardrail acted on a statement: denied it, held it, resolved a hold, or cut a
    result at the row limit. `statement` is the exact text (the audit addon redacts it)."""

    action: str  # an Action value: guardrail.denied | .held | .hold_resolved | .row_limit
    statement: str
    rule: str
    reason: str
    hold_id: str = ""
    outcome: str = ""  # hold_resolved: approved | denied | expired | withdrawn
    decided_by: str = ""
    decided_at: str = ""


@dataclass(frozen=True)
class ToolCall:
    """A tool the model asked the caller to run (name and masked JSON arguments)."""

    name: str
    arguments: str


@dataclass(frozen=True)
class LlmCall:
    """What a model call on an llm resource was, as the audit trail records it. Texts are
    as the provider saw them (placeholders or masked values, never the caller's PII); the
    audit addon redacts them once more before they are stored."""

    api: str  # "openai.chat" | "openai.responses" | "anthropic.messages"
    model: str
    stream: bool
    prompt: str
    completion: str
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str = ""
    # Seconds from the request reaching the gateway to the first response chunk sent on.
    time_to_first_chunk_s: float | None = None
    # PII values replaced in the request before it went upstream, per entity.
    prompt_masked: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpExchange:
    """One HTTP request on an http or llm resource and its outcome.

    ``refused_by`` names the gateway check that answered instead of the upstream ("" when
    the request was relayed): "route", "read_only", "request_size", "response_size",
    "budget", "rate_limit", "bad_request", "timeout", "upstream", "stream_cut",
    "prompt_privacy" (a body on an llm resource that is no model call it can mask).
    """

    method: str
    path: str  # the upstream path with its query string (redacted by the audit addon)
    status: int
    request_bytes: int
    response_bytes: int
    duration_s: float
    refused_by: str = ""
    error: str = ""
    # The first bytes of each body as text (generic http resources; the audit addon
    # redacts them); llm calls carry prompt and completion in ``llm`` instead.
    request_excerpt: str = ""
    response_excerpt: str = ""
    llm: LlmCall | None = None


@dataclass(frozen=True)
class Credential:
    """A short-lived upstream credential the gateway made for one session (PostgreSQL: a
    login role inside the grant's access level). Never holds the secret itself."""

    name: str  # the upstream login, e.g. "gh_s_0123456789abcdef"
    actor: Actor  # the identity the session is for
    resource: str
    protocol: str
    session_id: str
    grant: str = ""
    access_level: str = ""
    upstream_role: str = ""  # the level's role the credential is a member of
    valid_until: str = ""  # ISO 8601


class Addon:
    """Base class: override the hooks you need. Hooks run in chain order."""

    name = "addon"

    async def authorize(self, session: Session, request: ConnectRequest) -> Refusal | None:
        """Return a Refusal to stop the connection before any upstream is contacted."""
        return None

    def session_started(self, session: Session) -> None:
        """The upstream login succeeded and the session is relaying."""

    def statement_finished(self, session: Session, statement: Statement) -> None:
        """A statement completed (or failed) upstream."""

    def session_ended(self, session: Session, reason: str) -> None:
        """The session is over, for `reason`."""

    def connection_refused(self, session: Session, refusal: Refusal) -> None:
        """A connection was refused before or during login."""

    def cancel_requested(self, session: Session) -> bool:
        """A client asked to cancel the statement running in `session`. True when the
        statement was waiting at the gateway (held) and never reached the upstream: the
        cancel is answered here and not forwarded, where it could cancel the next one."""
        return False

    def guardrail_acted(self, session: Session, event: GuardrailEvent) -> None:
        """A guardrail denied, held or cut a statement, or a hold was resolved."""

    def exchange_finished(self, session: Session, exchange: HttpExchange) -> None:
        """An HTTP request on an http or llm resource was answered (relayed or refused)."""

    def credential_issued(self, credential: Credential) -> None:
        """The gateway created a per-session upstream credential."""

    def credential_revoked(self, credential: Credential, reason: str) -> None:
        """The gateway removed a per-session upstream credential (session over, or a
        leftover found by the reconciler)."""

    def session_lost(self, use: GrantUse) -> None:
        """A session on a single-use grant ended with a previous agent process, which
        never reported its end (found in the consumed-grants ledger at start)."""


def _overrides(addon: Addon, hook: str) -> bool:
    return getattr(type(addon), hook) is not getattr(Addon, hook)


class AddonChain:
    """Calls each hook on the addons that implement it, in the order given."""

    def __init__(self, addons: Sequence[Addon]) -> None:
        self.addons = tuple(addons)
        self._authorizers = [a for a in self.addons if _overrides(a, "authorize")]
        self._started = [a for a in self.addons if _overrides(a, "session_started")]
        self._statement = [a for a in self.addons if _overrides(a, "statement_finished")]
        self._ended = [a for a in self.addons if _overrides(a, "session_ended")]
        self._refused = [a for a in self.addons if _overrides(a, "connection_refused")]
        self._cancel = [a for a in self.addons if _overrides(a, "cancel_requested")]
        self._guardrail = [a for a in self.addons if _overrides(a, "guardrail_acted")]
        self._exchange = [a for a in self.addons if _overrides(a, "exchange_finished")]
        self._issued = [a for a in self.addons if _overrides(a, "credential_issued")]
        self._revoked = [a for a in self.addons if _overrides(a, "credential_revoked")]
        self._lost = [a for a in self.addons if _overrides(a, "session_lost")]

    async def authorize(self, session: Session, request: ConnectRequest) -> Refusal | None:
        """First refusal wins; an addon that raises refuses (fail closed)."""
        for addon in self._authorizers:
            try:
                refusal = await addon.authorize(session, request)
            except Exception:
                log.exception(
                    "addon %s failed while authorising session %s", addon.name, session.id
                )
                return Refusal(RefusalKind.ADDON_FAILURE, "access check failed inside the gateway")
            if refusal is not None:
                return refusal
        return None

    def session_started(self, session: Session) -> None:
        for addon in self._started:
            addon.session_started(session)

    def statement_finished(self, session: Session, statement: Statement) -> None:
        session.statements += 1
        for addon in self._statement:
            addon.statement_finished(session, statement)

    def session_ended(self, session: Session, reason: str) -> None:
        for addon in self._ended:
            addon.session_ended(session, reason)

    def connection_refused(self, session: Session, refusal: Refusal) -> None:
        for addon in self._refused:
            addon.connection_refused(session, refusal)

    def cancel_requested(self, session: Session) -> bool:
        """Every addon hears it; True when one answered it at the gateway (see Addon)."""
        answered = [addon.cancel_requested(session) for addon in self._cancel]
        return any(answered)

    def guardrail_acted(self, session: Session, event: GuardrailEvent) -> None:
        for addon in self._guardrail:
            addon.guardrail_acted(session, event)

    def exchange_finished(self, session: Session, exchange: HttpExchange) -> None:
        session.statements += 1
        for addon in self._exchange:
            addon.exchange_finished(session, exchange)

    def credential_issued(self, credential: Credential) -> None:
        for addon in self._issued:
            addon.credential_issued(credential)

    def credential_revoked(self, credential: Credential, reason: str) -> None:
        for addon in self._revoked:
            addon.credential_revoked(credential, reason)

    def session_lost(self, use: GrantUse) -> None:
        for addon in self._lost:
            addon.session_lost(use)

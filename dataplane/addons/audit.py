"""Audit: every session start and end, statement and refusal becomes an event in the spool.

The spool assigns the per-agent sequence number and makes the event durable before the
link sends it, so the control plane receives each event exactly once.

The audit trail never holds unmasked PII: statement texts and error messages (which echo
values: `Key (email)=(a@b.com) already exists`) pass through `redact_text` before they
are written, whatever the session's own masking profile. Results are masked on the
response path before they reach this addon; what it records of them is the tally: values
masked per entity for each statement, a `masking.failed` event when masking failed on some
values, and a `masking.applied` summary when a masked session ends.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

from dataplane.contract import Action
from dataplane.core.addons import (
    Addon,
    Credential,
    GuardrailEvent,
    HttpExchange,
    LlmCall,
    Refusal,
    Statement,
)
from dataplane.core.consumed_grants import GrantUse
from dataplane.core.session import Session
from dataplane.link.spool import Spool
from dataplane.masking.values import MaskingTally

SampleRows = tuple[tuple[str | None, ...], ...]
# Statement texts longer than this are cut in the event; the digest still pins the full text.
STATEMENT_TEXT_LIMIT = 16 * 1024
# An HTTP exchange's body excerpts, and a model call's prompt and completion, are cut here.
EXCERPT_LIMIT = 2 * 1024
LLM_TEXT_LIMIT = 16 * 1024


class AuditAddon(Addon):
    name = "audit"

    def __init__(
        self,
        spool: Spool,
        redact_text: Callable[[str], str],
        *,
        redact_rows: Callable[[SampleRows], list[list[str | None]]] | None = None,
    ) -> None:
        self._spool = spool
        self._clock = UtcClock()
        self._redact = redact_text
        # Sample rows in one pass, bypassing redact_text's cache of statement texts.
        self._redact_rows = redact_rows or self._redact_each

    def session_started(self, session: Session) -> None:
        if session.grant_consumed and session.grant is not None:
            self._record(
                session,
                Action.GRANT_CONSUMED,
                {"grant": session.grant.id, "scope": session.grant.scope},
            )
        self._record(
            session,
            Action.SESSION_START,
            {
                "client_address": session.client_address,
                "tls": session.tls,
                "client_user": session.client_parameters.get("user", ""),
                "application_name": session.client_parameters.get("application_name", ""),
                "grant": session.grant.id if session.grant else "",
            },
        )

    def statement_finished(self, session: Session, statement: Statement) -> None:
        text = statement.text[:STATEMENT_TEXT_LIMIT]
        payload: dict[str, Any] = {
            "statement": self._redact(text),
            "kind": statement.kind,
            "parameter_count": statement.parameter_count,
            "command_tags": statement.command_tags,  # a tuple: a JSON array all the same
            "rows": statement.rows,
            "duration_ms": round(statement.duration_s * 1000, 3),
            "error": self._error(statement),
        }
        if len(statement.text) > STATEMENT_TEXT_LIMIT:
            # The digest pins the full text without revealing it (it is a hash of the
            # unmasked text: guessable only for a value already known).
            payload["statement_truncated"] = True
            payload["statement_sha256"] = hashlib.sha256(statement.text.encode()).hexdigest()
        tally = statement.masking
        if tally is not None:
            payload["masked"] = tally.counts
        if statement.columns:
            payload.update(self._result_shape(statement))
        self._record(session, Action.STATEMENT, payload)
        if tally is not None and tally.failed:
            self._record_masking_failed(session, payload["statement"], tally)

    def _result_shape(self, statement: Statement) -> dict[str, Any]:
        """The result's columns and (masked sessions only) its sample rows."""
        redact = self._redact
        shape: dict[str, Any] = {
            "columns": [
                {"name": redact(name), "type": type_name, "oid": oid}
                for name, type_name, oid in statement.columns
            ]
        }
        if statement.sample_rows:
            shape["sample_rows"] = self._redact_rows(statement.sample_rows)
        return shape

    def _redact_each(self, rows: SampleRows) -> list[list[str | None]]:
        return [[None if cell is None else self._redact(cell) for cell in row] for row in rows]

    def _record_masking_failed(self, session: Session, text: str, tally: MaskingTally) -> None:
        self._record(
            session,
            Action.MASKING_FAILED,
            {
                "profile": session.masking_profile,
                "statement": text,
                "values": tally.failed,
                "reasons": tally.failures,
                # "error" profiles end the statement; "redact" ones send the marker.
                "action": "statement_ended" if tally.statement_ended else "redacted",
            },
        )

    def session_ended(self, session: Session, reason: str) -> None:
        if session.masker is not None:
            total = session.masker.session_tally()
            self._record(
                session,
                Action.MASKING_APPLIED,
                {
                    "profile": session.masking_profile,
                    "entities": total.counts,
                    "values_failed": total.failed,
                },
            )
        self._record(
            session,
            Action.SESSION_END,
            {
                "reason": reason,
                "statements": session.statements,
                # The control plane ends a single-use grant when its session ends.
                "grant": session.grant.id if session.grant else "",
                "grant_scope": session.grant.scope if session.grant else "",
                "duration_ms": round((time.monotonic() - session.started_at) * 1000, 3),
            },
        )

    def connection_refused(self, session: Session, refusal: Refusal) -> None:
        self._record(
            session,
            Action.CONNECTION_REFUSED,
            {
                "reason": refusal.kind.value,
                "message": refusal.message,
                "detail": refusal.detail,
                "client_address": session.client_address,
                "client_user": session.client_parameters.get("user", ""),
            },
        )

    def session_lost(self, use: GrantUse) -> None:
        """The end of a single-use session the previous agent process never reported (the
        control plane ends the grant on it)."""
        self._spool.append(
            time=self._clock.now(),
            action=Action.SESSION_END,
            actor=use.actor,
            resource=use.resource,
            protocol=use.protocol,
            session=use.session,
            payload={
                "reason": "lost: the agent process stopped before the session ended",
                "grant": use.grant,
                "grant_scope": use.scope,
            },
        )

    def guardrail_acted(self, session: Session, event: GuardrailEvent) -> None:
        payload: dict[str, Any] = {
            "statement": self._redact(event.statement[:STATEMENT_TEXT_LIMIT]),
            "rule": event.rule,
            "reason": self._redact(event.reason),
        }
        if event.hold_id:
            payload["hold"] = event.hold_id
        if event.outcome:
            payload.update(
                outcome=event.outcome, decided_by=event.decided_by, decided_at=event.decided_at
            )
        self._record(session, Action(event.action), payload)

    def exchange_finished(self, session: Session, exchange: HttpExchange) -> None:
        """One HTTP request on an http resource (``http.request``) or one model call on
        an llm resource (``llm.call``): path, bodies, prompt and completion redacted."""
        payload: dict[str, Any] = {
            "method": exchange.method,
            "path": self._redact(exchange.path),
            "status": exchange.status,
            "request_bytes": exchange.request_bytes,
            "response_bytes": exchange.response_bytes,
            "duration_ms": round(exchange.duration_s * 1000, 3),
            "refused_by": exchange.refused_by,
            "error": self._redact(exchange.error) if exchange.error else "",
        }
        if exchange.llm is None:
            payload["request_excerpt"] = self._redact(exchange.request_excerpt[:EXCERPT_LIMIT])
            payload["response_excerpt"] = self._redact(exchange.response_excerpt[:EXCERPT_LIMIT])
            self._record(session, Action.HTTP_REQUEST, payload)
            return
        payload.update(self._llm_payload(exchange.llm))
        self._record(session, Action.LLM_CALL, payload)

    def _llm_payload(self, call: LlmCall) -> dict[str, Any]:
        first_chunk = call.time_to_first_chunk_s
        return {
            "api": call.api,
            "model": call.model,
            "stream": call.stream,
            "prompt": self._redact(call.prompt[:LLM_TEXT_LIMIT]),
            "completion": self._redact(call.completion[:LLM_TEXT_LIMIT]),
            "tool_calls": [
                {"name": tool.name, "arguments": self._redact(tool.arguments[:LLM_TEXT_LIMIT])}
                for tool in call.tool_calls
            ],
            "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens,
            "finish_reason": call.finish_reason,
            "time_to_first_chunk_ms": (
                round(first_chunk * 1000, 3) if first_chunk is not None else None
            ),
            "prompt_masked": call.prompt_masked,
        }

    def cancel_requested(self, session: Session) -> bool:
        self._record(session, Action.CANCEL_REQUEST, {"client_address": session.client_address})
        return False

    def credential_issued(self, credential: Credential) -> None:
        self._record_credential(credential, Action.EPHEMERAL_ROLE_CREATED, {})

    def credential_revoked(self, credential: Credential, reason: str) -> None:
        self._record_credential(credential, Action.EPHEMERAL_ROLE_DROPPED, {"reason": reason})

    def _record_credential(
        self, credential: Credential, action: Action, extra: dict[str, Any]
    ) -> None:
        self._spool.append(
            time=self._clock.now(),
            action=action,
            actor=credential.actor,
            resource=credential.resource,
            protocol=credential.protocol,
            session=credential.session_id,
            payload={
                "credential": credential.name,
                "grant": credential.grant,
                "access_level": credential.access_level,
                "upstream_role": credential.upstream_role,
                "valid_until": credential.valid_until,
                **extra,
            },
        )

    def _record(self, session: Session, action: Action, payload: dict[str, Any]) -> None:
        if session.correlation_id:  # ties the events of one agent run together
            payload["correlation_id"] = session.correlation_id
        self._spool.append(
            time=self._clock.now(),
            action=action,  # a StrEnum is the str itself: its .value costs a lookup
            actor=session.actor,
            resource=session.resource_name,
            protocol=session.protocol,
            session=session.id,
            payload=payload,
        )

    def _error(self, statement: Statement) -> dict[str, str] | None:
        if statement.error_code is None:
            return None
        return {
            "code": statement.error_code,
            "message": self._redact(statement.error_message or ""),
        }


class UtcClock:
    """The time now as RFC 3339 UTC with microseconds: ``2025-06-01T12:00:00.123456Z``.

    Formats the date and time of day once a second and only the fraction on every call:
    about a quarter of the cost of ``datetime.now(UTC).isoformat()`` on the statement path.
    """

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""  # "2025-06-01T12:00:00." for _second

    def now(self) -> str:
        """The current wall-clock time (truncated to the microsecond)."""
        second, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
        if second != self._second:
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second))
            self._second = second
        return f"{self._prefix}{nanoseconds // 1000:06d}Z"

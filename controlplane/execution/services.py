"""The exec API: run one SQL statement (or HTTP request) on a resource for a caller that does
not speak the resource's protocol, with the same access, masking, guardrails and audit as a
native session.

    1. a grant: an active duration grant of the caller, else an access request (a pending
       one already waiting is reused); an auto-approval rule grants at once (scope "call":
       a grant for this call alone), else the answer is 202 pending and the caller polls
    2. a gateway token for the caller (with its ``act`` claim), short-lived, and the call
       sent to the agent serving the resource (dispatch.py); the agent runs it as a native
       session of that token's identity and answers
    3. one ``exec.call`` audit event: caller, on-behalf-of, resource, the statement's
       SHA-256 only (the agent's own statement event holds the masked text), grant and
       whether it was a per-call grant, outcome, correlation id
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from controlplane.access.models import AccessRequest, Grant
from controlplane.access.services import access_request_create
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.execution.dispatch import AgentSilent, AgentUnavailable, exec_roundtrip
from controlplane.execution.selectors import (
    exec_grant_for,
    exec_request_duration,
    exec_request_pending_for,
)
from controlplane.identities.models import User
from controlplane.identities.tokens import gateway_token_mint
from controlplane.policies.selectors import policy_for
from controlplane.resources.models import Resource
from dataplane.contract.exec_call import (
    MAX_ROWS_DEFAULT,
    TIMEOUT_DEFAULT_S,
    ExecCall,
    ExecError,
    ExecResult,
    HttpCall,
)

# The agent gets timeout_s for the call; the control plane waits this much longer for the
# answer to come back over the link before it gives up (504).
REPLY_GRACE_S = 5.0
# A token lives for the call and a little more (it is checked once, at session start).
TOKEN_GRACE_S = 60
DEFAULT_REASON = "a call through the exec API"
SQL_PROTOCOLS = frozenset({"postgres"})
ACCESS_REQUESTS_PATH = "/api/v1/access-requests"


@dataclass(frozen=True)
class ExecCallInput:
    """One call as the API received it: ``sql`` or ``http``, with its limits."""

    sql: str | None = None
    http: HttpCall | None = None
    max_rows: int = MAX_ROWS_DEFAULT
    timeout_s: float = TIMEOUT_DEFAULT_S

    @property
    def operation(self) -> str:
        return "exec.sql" if self.sql is not None else "exec.http"

    def sha256(self) -> str:
        """What the audit event keeps of the statement or request: its digest only."""
        if self.sql is not None:
            return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()
        assert self.http is not None
        head = f"{self.http.method} {self.http.path}\n".encode()
        return hashlib.sha256(head + base64.b64decode(self.http.body_b64)).hexdigest()


@dataclass(frozen=True)
class ExecOutcome:
    """What the API answers: an HTTP status and a JSON body."""

    status: int
    body: dict[str, Any]
    audit: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Access:
    grant: Grant | None
    request: AccessRequest | None = None

    @property
    def per_call(self) -> bool:
        return self.grant is not None and self.grant.scope == Grant.Scope.CALL


def resource_exec(
    *,
    actor: User,
    resource: Resource,
    call: ExecCallInput,
    correlation_id: str,
    on_behalf_of: User | None,
    reason: str = "",
    duration: timedelta | None = None,
) -> ExecOutcome:
    """Run ``call`` on ``resource`` as ``actor`` (acting for ``on_behalf_of``) and answer
    with its result, a pending access request, or why not. Raises ValidationError for a
    call that does not fit the resource, PermissionDenied when ``actor`` may not even ask
    for access; both are audited too."""
    base = _audit_base(resource, call, correlation_id)
    try:
        _call_check(resource, call)
        access = _access(actor=actor, resource=resource, reason=reason, duration=duration)
    except (ValidationError, PermissionDenied) as refused:
        _exec_record(actor, resource, on_behalf_of, {**base, **_refusal_audit(refused)})
        raise
    if access.grant is None:
        outcome = _pending(resource, access.request)
    else:
        outcome = _run(actor, resource, call, correlation_id, on_behalf_of)
    audit = {**base, **_access_audit(access), **outcome.audit, "status": outcome.status}
    _exec_record(actor, resource, on_behalf_of, audit)
    return outcome


def _call_check(resource: Resource, call: ExecCallInput) -> None:
    if resource.protocol in SQL_PROTOCOLS and call.sql is None:
        raise ValidationError({"sql": [f"{resource.name} is a {resource.protocol} resource"]})
    if resource.protocol not in SQL_PROTOCOLS and call.http is None:
        raise ValidationError({"http": [f"{resource.name} is a {resource.protocol} resource"]})


def _access(*, actor: User, resource: Resource, reason: str, duration: timedelta | None) -> _Access:
    """The grant the call runs on, or the access request it waits for."""
    grant = exec_grant_for(identity=actor, resource=resource)
    if grant is not None:
        return _Access(grant)
    pending = exec_request_pending_for(identity=actor, resource=resource)
    if pending is not None:
        return _Access(None, pending)
    if policy_for(resource=resource) is None:
        raise PermissionDenied(
            f"no active grant on {resource.name}, and no access policy to ask under: "
            "ask an administrator for a grant"
        )
    request = access_request_create(
        actor=actor,
        resource=resource,
        duration=duration or exec_request_duration(identity=actor, resource=resource),
        reason=reason.strip() or DEFAULT_REASON,
    )
    if request.status != AccessRequest.Status.APPROVED:
        return _Access(None, request)
    return _Access(Grant.objects.get(request=request), request)


def _pending(resource: Resource, request: AccessRequest | None) -> ExecOutcome:
    assert request is not None
    body = {
        "status": "pending",
        "access_request": str(request.pk),
        "poll": f"{ACCESS_REQUESTS_PATH}?resource={resource.name}",
        "message": "access needs an approver's decision; call again once it is approved",
    }
    return ExecOutcome(202, body, {"outcome": "pending"})


def _run(
    actor: User,
    resource: Resource,
    call: ExecCallInput,
    correlation_id: str,
    on_behalf_of: User | None,
) -> ExecOutcome:
    minted = gateway_token_mint(
        actor=actor,
        identity=actor,
        ttl_seconds=math.ceil(call.timeout_s) + TOKEN_GRACE_S,
        on_behalf_of=on_behalf_of,
    )
    exec_call = ExecCall(
        id=str(uuid.uuid4()),
        resource=resource.name,
        token=minted.token,
        correlation_id=correlation_id,
        timeout_s=call.timeout_s,
        max_rows=call.max_rows,
        sql=call.sql,
        http=call.http,
    )
    if not resource.agent.connected:
        return _unavailable(exec_call.id, "the agent serving the resource is not connected")
    try:
        result = async_to_sync(exec_roundtrip)(
            agent_id=resource.agent.pk, call=exec_call, wait_s=call.timeout_s + REPLY_GRACE_S
        )
    except AgentUnavailable as exc:
        return _unavailable(exec_call.id, str(exc))
    except AgentSilent as exc:
        error = {"code": "agent_timeout", "message": str(exc)}
        body = {"status": "error", "error": error}
        return ExecOutcome(504, body, _failed_audit(exec_call.id, error))
    return _answer(exec_call.id, result)


def _unavailable(exec_id: str, message: str) -> ExecOutcome:
    error = {"code": "agent_unavailable", "message": message}
    return ExecOutcome(503, {"status": "error", "error": error}, _failed_audit(exec_id, error))


def _answer(exec_id: str, result: ExecResult) -> ExecOutcome:
    if result.error is None:
        body = {"status": "done", "result": result.result or {}}
        return ExecOutcome(200, body, {"exec": exec_id, "outcome": "done"})
    error = _error_body(result.error)
    body: dict[str, Any] = {"status": "error", "error": error}
    if result.error.code == "held":
        body = {"status": "held", "hold": result.error.hold, "error": error}
    status = result.error.to_dict()["status"]
    return ExecOutcome(status, body, _failed_audit(exec_id, error))


def _error_body(error: ExecError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code.value, "message": error.message}
    for key in ("sqlstate", "rule", "hold"):
        if getattr(error, key):
            body[key] = getattr(error, key)
    return body


def _failed_audit(exec_id: str, error: dict[str, Any]) -> dict[str, Any]:
    # Codes only: an error message can quote the data (a duplicate key's value).
    kept = {key: error[key] for key in ("code", "sqlstate", "rule", "hold") if key in error}
    return {"exec": exec_id, "outcome": str(error["code"]), "error": kept}


def _refusal_audit(refused: ValidationError | PermissionDenied) -> dict[str, Any]:
    code = "refused" if isinstance(refused, PermissionDenied) else "invalid"
    status = 403 if code == "refused" else 400
    return {"outcome": code, "status": status, "error": {"code": code}}


def _audit_base(resource: Resource, call: ExecCallInput, correlation_id: str) -> dict[str, Any]:
    return {
        "operation": call.operation,
        "statement_sha256": call.sha256(),
        "protocol": resource.protocol,
        "correlation_id": correlation_id,
    }


def _access_audit(access: _Access) -> dict[str, Any]:
    return {
        "grant": str(access.grant.pk) if access.grant is not None else "",
        "per_call_grant": access.per_call,
        "request": str(access.request.pk) if access.request is not None else "",
    }


def _exec_record(
    actor: User, resource: Resource, on_behalf_of: User | None, payload: dict[str, Any]
) -> None:
    with transaction.atomic():
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.EXEC_CALL,
            resource=resource.name,
            payload=payload,
            on_behalf_of=on_behalf_of,
        )

"""The work of ``query_database`` and ``call_http``: the exec service
(``controlplane.execution.services.resource_exec``) runs the call through the agent serving
the resource, as the caller, with the caller's grant (or an access request an auto-approval
rule grants at once), masking and guardrails, exactly as a native session would. This
module only turns tool arguments into an exec call and its outcome into a tool result."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from channels.db import database_sync_to_async as db
from django.core.exceptions import PermissionDenied, ValidationError

from controlplane.cli import validation_message
from controlplane.execution.services import ExecCallInput, ExecOutcome, resource_exec
from controlplane.mcp_server.calls import ToolCall, ToolRefused, ToolResult
from dataplane.contract.exec_call import HTTP_METHODS, HttpCall

# The gateway authenticates to the upstream itself and frames the request; a caller's own
# values for these would either be ignored or fight the gateway's.
GATEWAY_HEADERS = frozenset({"authorization", "host", "content-length", "transfer-encoding"})


async def database_query(call: ToolCall) -> ToolResult:
    """Run the call's SQL statement and return its (masked) rows."""
    exec_call = ExecCallInput(sql=call.arguments["sql"], max_rows=call.arguments["max_rows"])
    return await db(_exec)(call, exec_call)


async def http_call(call: ToolCall) -> ToolResult:
    """Send the call's HTTP request and return the upstream's answer."""
    return await db(_exec)(call, ExecCallInput(http=_http(call.arguments)))


def _http(arguments: dict[str, Any]) -> HttpCall:
    method = str(arguments["method"]).upper()
    if method not in HTTP_METHODS:
        raise ToolRefused("invalid_request", f"method must be one of {sorted(HTTP_METHODS)}")
    headers = dict(arguments.get("headers") or {})
    refused = sorted(name for name in headers if name.lower() in GATEWAY_HEADERS)
    if refused:
        raise ToolRefused(
            "invalid_request", f"leave out {refused}: the gateway sets them (and the credentials)"
        )
    body = arguments.get("body")
    body_b64 = base64.b64encode(body.encode()).decode("ascii") if body else ""
    return HttpCall(method=method, path=arguments["path"], headers=headers, body_b64=body_b64)


def _exec(call: ToolCall, exec_call: ExecCallInput) -> ToolResult:
    assert call.resource is not None  # the tool resolved it
    try:
        outcome = resource_exec(
            actor=call.caller.identity,
            resource=call.resource,
            call=exec_call,
            correlation_id=call.correlation_id,
            on_behalf_of=call.caller.on_behalf_of,
        )
    except PermissionDenied as exc:
        raise ToolRefused("not_allowed", str(exc) or "no access to this resource") from None
    except ValidationError as exc:
        raise ToolRefused("invalid_request", validation_message(exc)) from None
    return _tool_result(outcome)


def _tool_result(outcome: ExecOutcome) -> ToolResult:
    body = outcome.body
    audit = {"exec_status": outcome.status, "exec": outcome.audit.get("exec", "")}
    if body.get("status") == "done":
        return ToolResult(payload=_readable(body.get("result") or {}), audit=audit)
    if body.get("status") == "pending":
        payload = {
            "error": {
                "code": "access_pending",
                "message": "you hold no grant on this resource and your access request awaits "
                "an approver: call request_access to wait for the decision, then try again",
                "access_request": body.get("access_request"),
            }
        }
        return ToolResult(payload=payload, is_error=True, outcome="access_pending", audit=audit)
    error = dict(body.get("error") or {})
    code = str(error.get("code") or "error")
    return ToolResult(payload={"error": error}, is_error=True, outcome=code, audit=audit)


def _readable(result: dict[str, Any]) -> dict[str, Any]:
    """An HTTP result's body as text when it is UTF-8 (models read text), else as base64."""
    if "body_b64" not in result:
        return result
    readable = {key: value for key, value in result.items() if key != "body_b64"}
    try:
        readable["body"] = base64.b64decode(result["body_b64"]).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, TypeError):
        readable["body_b64"] = result["body_b64"]
    return readable

"""What an exec call's client saw, plus what the witness saw, as the ``exec_result``."""

from __future__ import annotations

from dataplane.contract.exec_call import ExecCall, ExecError, ExecErrorCode, ExecResult
from dataplane.core.addons import Refusal, RefusalKind
from dataplane.exec.http_client import OneRequestClient
from dataplane.exec.pg_client import SimpleQueryClient
from dataplane.exec.witness import Witnessed
from dataplane.protocols.postgres.wire import errors as pg_errors

# A refused PostgreSQL session's SQLSTATE (proxy.REFUSAL_SQLSTATE) -> the exec error it is.
REFUSAL_SQLSTATES = {
    pg_errors.INVALID_AUTHORIZATION: ExecErrorCode.REFUSED,
    pg_errors.INVALID_PASSWORD: ExecErrorCode.REFUSED,
    pg_errors.INVALID_CATALOG_NAME: ExecErrorCode.UNKNOWN_RESOURCE,
    pg_errors.CONNECTION_FAILURE: ExecErrorCode.UPSTREAM_FAILED,
    pg_errors.CANNOT_CONNECT_NOW: ExecErrorCode.NOT_READY,
}
REFUSAL_KINDS = {
    RefusalKind.BAD_CREDENTIALS: ExecErrorCode.REFUSED,
    RefusalKind.NO_GRANT: ExecErrorCode.REFUSED,
    RefusalKind.ADDON_FAILURE: ExecErrorCode.REFUSED,
    RefusalKind.UNKNOWN_RESOURCE: ExecErrorCode.UNKNOWN_RESOURCE,
    RefusalKind.UPSTREAM_FAILED: ExecErrorCode.UPSTREAM_FAILED,
    RefusalKind.NOT_READY: ExecErrorCode.NOT_READY,
}


def sql_outcome(call: ExecCall, client: SimpleQueryClient, witnessed: Witnessed) -> ExecResult:
    """Rows, or the refusal, guardrail denial or SQL error that ended the call."""
    if client.refusal is not None:
        sqlstate = client.refusal.get("C", "")
        code = REFUSAL_SQLSTATES.get(sqlstate, ExecErrorCode.REFUSED)
        message = client.refusal.get("M", "the gateway refused the session")
        return _error(call, ExecError(code, message, sqlstate=sqlstate))
    if client.error is None:
        return ExecResult(id=call.id, result=client.result.to_dict())
    message, sqlstate = client.error.get("M", "the statement failed"), client.error.get("C", "")
    denial = witnessed.denial()
    if denial is not None:
        error = ExecError(
            ExecErrorCode.GUARDRAIL_DENIED,
            message,
            sqlstate=sqlstate,
            rule=denial.rule,
            hold=denial.hold_id,
        )
        return _error(call, error)
    return _error(call, ExecError(ExecErrorCode.SQL_ERROR, message, sqlstate=sqlstate or "XX000"))


def http_outcome(call: ExecCall, client: OneRequestClient, witnessed: Witnessed) -> ExecResult:
    """The response (the upstream's, or a gateway check's, named in ``refused_by``), or
    the refusal of the session itself."""
    if witnessed.refusal is not None:
        return refused_outcome(call, witnessed.refusal)
    result = client.result.to_dict()
    if witnessed.refused_by:
        result["refused_by"] = witnessed.refused_by
    return ExecResult(id=call.id, result=result)


def held_outcome(call: ExecCall, witnessed: Witnessed) -> ExecResult:
    """No result within timeout_s: held for approval (and now withdrawn), or just slow."""
    held = witnessed.hold()
    if held is None:
        return failed(call, ExecErrorCode.TIMEOUT, f"no result within {call.timeout_s:g} s")
    message = (
        f"the statement was held for approval by rule {held.rule!r} and not decided within "
        f"{call.timeout_s:g} s; the hold is withdrawn: call again with a longer timeout_s "
        "once an approver is at hand"
    )
    return _error(call, ExecError(ExecErrorCode.HELD, message, rule=held.rule, hold=held.hold_id))


def failed(call: ExecCall, code: ExecErrorCode, message: str) -> ExecResult:
    return _error(call, ExecError(code, message))


def refused_outcome(call: ExecCall, refusal: Refusal) -> ExecResult:
    """The access check refused the session: why, as the exec error it is."""
    code = REFUSAL_KINDS.get(refusal.kind, ExecErrorCode.REFUSED)
    return _error(call, ExecError(code, refusal.message))


def _error(call: ExecCall, error: ExecError) -> ExecResult:
    return ExecResult(id=call.id, error=error)

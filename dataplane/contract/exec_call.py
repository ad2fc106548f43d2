"""The bodies of the ``exec`` and ``exec_result`` envelopes: one call run by an agent for the
control plane's exec API, on behalf of a caller that does not speak the resource's protocol.

    control plane                                   agent
      exec {"format": 1, "id", "resource", "token", "correlation_id", "timeout_s",
            "max_rows", and "sql": str  or  "http": {"method", "path", "headers",
            "body_b64"}}                            ->
                                                    (runs the call through the protocol
                                                     driver and addons, as the token's
                                                     identity, like a native session)
                                                 <- exec_result {"format": 1, "id", "ok": true,
                                                     "result": {...}}
                                                    or {"format": 1, "id", "ok": false,
                                                     "error": {"code", "message", "status",
                                                     "sqlstate", "rule", "hold"}}

A SQL result is ``{"columns": [{"name", "type"}], "rows": [[value, ...]], "row_count",
"command_tag", "truncated"}`` (values as JSON: numbers, booleans and json columns converted,
everything else text, NULL as null; rows masked as the session masked them). An HTTP result
is ``{"status", "headers": {...}, "body_b64", "body" (when UTF-8), "truncated", and
"refused_by" when a gateway check answered instead of the upstream}``. ``error.status`` is
the HTTP status the exec API answers with; ``code`` is one of ExecErrorCode.

The token travels inside the agent websocket only, is never logged, and is short-lived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dataplane.contract.envelopes import ContractError

EXEC_CALL_FORMAT = 1

MAX_ROWS_DEFAULT = 1000
MAX_ROWS_CAP = 10_000
TIMEOUT_DEFAULT_S = 30.0
TIMEOUT_CAP_S = 300.0
CORRELATION_ID_MAX = 128
# Startup parameters an exec session sends and the PostgreSQL driver keeps to itself (never
# forwarded upstream): the call's correlation id and its exec id.
CORRELATION_PARAMETER = "gatehouse.correlation_id"
EXEC_ID_PARAMETER = "gatehouse.exec_id"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ExecErrorCode(StrEnum):
    """Why a call did not produce a result (with the HTTP status the API answers)."""

    BAD_REQUEST = "bad_request"  # 400: the call is malformed for this resource
    REFUSED = "refused"  # 403: the session was refused (no grant, bad token)
    UNKNOWN_RESOURCE = "unknown_resource"  # 404
    GUARDRAIL_DENIED = "guardrail_denied"  # 403: a guardrail rule refused the statement
    HELD = "held"  # 409: held for approval and not decided within timeout_s
    SQL_ERROR = "sql_error"  # 422: the database refused the statement
    UNSUPPORTED = "unsupported"  # 501: no exec for this resource's protocol on this agent
    UPSTREAM_FAILED = "upstream_failed"  # 502: the gateway could not reach the resource
    NOT_READY = "not_ready"  # 503: the agent has no configuration yet
    TIMEOUT = "timeout"  # 504: no answer within timeout_s
    INTERNAL = "internal"  # 500


ERROR_STATUS: dict[ExecErrorCode, int] = {
    ExecErrorCode.BAD_REQUEST: 400,
    ExecErrorCode.REFUSED: 403,
    ExecErrorCode.UNKNOWN_RESOURCE: 404,
    ExecErrorCode.GUARDRAIL_DENIED: 403,
    ExecErrorCode.HELD: 409,
    ExecErrorCode.SQL_ERROR: 422,
    ExecErrorCode.UNSUPPORTED: 501,
    ExecErrorCode.UPSTREAM_FAILED: 502,
    ExecErrorCode.NOT_READY: 503,
    ExecErrorCode.TIMEOUT: 504,
    ExecErrorCode.INTERNAL: 500,
}


@dataclass(frozen=True)
class HttpCall:
    """One HTTP request for an http or llm resource; the body travels base64-encoded."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body_b64: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body_b64": self.body_b64,
        }

    @classmethod
    def from_dict(cls, document: object) -> HttpCall:
        if not isinstance(document, dict):
            raise ContractError("exec http must be an object")
        method = _text(document, "method").upper()
        if method not in HTTP_METHODS:
            raise ContractError(f"exec http method {method!r} is not supported")
        path = _text(document, "path")
        if not path.startswith("/"):
            raise ContractError("exec http path must start with /")
        headers = document.get("headers") or {}
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ContractError("exec http headers must map names to text values")
        body = document.get("body_b64", "")
        if not isinstance(body, str):
            raise ContractError("exec http body_b64 must be text")
        return cls(method=method, path=path, headers=dict(headers), body_b64=body)


@dataclass(frozen=True)
class ExecCall:
    """What the control plane asks an agent to run: exactly one of ``sql`` and ``http``."""

    id: str
    resource: str
    token: str = field(repr=False)
    correlation_id: str = ""
    timeout_s: float = TIMEOUT_DEFAULT_S
    max_rows: int = MAX_ROWS_DEFAULT
    sql: str | None = None
    http: HttpCall | None = None
    format: int = EXEC_CALL_FORMAT

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "format": self.format,
            "id": self.id,
            "resource": self.resource,
            "token": self.token,
            "correlation_id": self.correlation_id,
            "timeout_s": self.timeout_s,
            "max_rows": self.max_rows,
        }
        if self.sql is not None:
            document["sql"] = self.sql
        if self.http is not None:
            document["http"] = self.http.to_dict()
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ExecCall:
        """Read and check an ``exec`` body; ContractError if it is off-contract."""
        _check_format(document)
        sql, http = document.get("sql"), document.get("http")
        if (sql is None) == (http is None):
            raise ContractError("an exec call carries exactly one of sql and http")
        if sql is not None and (not isinstance(sql, str) or "\x00" in sql):
            raise ContractError("exec sql must be text without NUL")
        correlation_id = document.get("correlation_id", "")
        if not isinstance(correlation_id, str) or not correlation_id_valid(correlation_id):
            raise ContractError("exec correlation_id must be up to 128 printable ASCII")
        return cls(
            id=_text(document, "id"),
            resource=_text(document, "resource"),
            token=_text(document, "token"),
            correlation_id=correlation_id,
            timeout_s=_bounded_number(document, "timeout_s", TIMEOUT_CAP_S),
            max_rows=int(_bounded_number(document, "max_rows", MAX_ROWS_CAP, integer=True)),
            sql=sql,
            http=HttpCall.from_dict(http) if http is not None else None,
        )


@dataclass(frozen=True)
class ExecError:
    """Why a call failed; ``message`` is safe to show the caller."""

    code: ExecErrorCode
    message: str
    status: int = 0  # 0: the code's usual status
    sqlstate: str = ""
    rule: str = ""  # guardrail_denied / held: the rule
    hold: str = ""  # held: the hold's id

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "message": self.message,
            "status": self.status or ERROR_STATUS[self.code],
            "sqlstate": self.sqlstate,
            "rule": self.rule,
            "hold": self.hold,
        }

    @classmethod
    def from_dict(cls, document: object) -> ExecError:
        if not isinstance(document, dict):
            raise ContractError("exec_result error must be an object")
        try:
            code = ExecErrorCode(str(document.get("code")))
        except ValueError:
            raise ContractError(f"unknown exec error code {document.get('code')!r}") from None
        status = document.get("status", 0)
        if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status < 600:
            raise ContractError("exec_result error status must be an HTTP status")
        extras = {key: document.get(key, "") for key in ("sqlstate", "rule", "hold")}
        if not all(isinstance(value, str) for value in extras.values()):
            raise ContractError("exec_result error fields must be text")
        message = document.get("message", "")
        return cls(code=code, message=str(message), status=status, **extras)


@dataclass(frozen=True)
class ExecResult:
    """The agent's answer to one ExecCall: a result, or an error."""

    id: str
    result: dict[str, Any] | None = None
    error: ExecError | None = None
    format: int = EXEC_CALL_FORMAT

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"format": self.format, "id": self.id, "ok": self.ok}
        if self.error is not None:
            document["error"] = self.error.to_dict()
        else:
            document["result"] = self.result or {}
        return document

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ExecResult:
        """Read and check an ``exec_result`` body; ContractError if it is off-contract."""
        _check_format(document)
        call_id = _text(document, "id")
        ok = document.get("ok")
        if ok is True:
            result = document.get("result")
            if not isinstance(result, dict):
                raise ContractError("exec_result ok without a result object")
            return cls(id=call_id, result=result)
        if ok is False:
            return cls(id=call_id, error=ExecError.from_dict(document.get("error")))
        raise ContractError("exec_result ok must be a boolean")


def correlation_id_valid(value: str) -> bool:
    """Up to 128 printable ASCII characters ("" = none)."""
    return len(value) <= CORRELATION_ID_MAX and all(" " <= ch <= "~" for ch in value)


def _check_format(document: dict[str, Any]) -> None:
    # Format 1 is the first; a body without one is read as format 1.
    version = document.get("format", EXEC_CALL_FORMAT)
    if version != EXEC_CALL_FORMAT:
        raise ContractError(f"unsupported exec format {version!r}")


def _text(document: dict[str, Any], key: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value:
        raise ContractError(f"exec {key} must be non-empty text")
    return value


def _bounded_number(
    document: dict[str, Any], key: str, cap: float, *, integer: bool = False
) -> float:
    value = document.get(key)
    numeric = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, numeric) or not 0 < value <= cap:
        raise ContractError(f"exec {key} must be a number in (0, {cap:g}]")
    return float(value)

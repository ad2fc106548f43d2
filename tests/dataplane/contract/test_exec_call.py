"""The exec and exec_result envelope bodies: round trips, and off-contract bodies refused."""

from __future__ import annotations

from typing import Any

import pytest

from dataplane.contract import ContractError
from dataplane.contract.exec_call import (
    ExecCall,
    ExecError,
    ExecErrorCode,
    ExecResult,
    HttpCall,
    correlation_id_valid,
)


def sql_call(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "format": 1,
        "id": "call-1",
        "resource": "appdb",
        "token": "tok.en",
        "correlation_id": "run-1",
        "timeout_s": 30,
        "max_rows": 1000,
        "sql": "select 1",
    }
    document.update(changes)
    return {k: v for k, v in document.items() if v is not None}


def test_an_exec_call_round_trips_and_never_shows_its_token() -> None:
    call = ExecCall.from_dict(sql_call())

    assert ExecCall.from_dict(call.to_dict()) == call
    assert "tok.en" not in repr(call)


def test_an_http_call_round_trips() -> None:
    http = HttpCall(method="POST", path="/v1/x", headers={"X-A": "1"}, body_b64="e30=")
    call = ExecCall(id="c", resource="api", token="t", http=http)

    assert ExecCall.from_dict(call.to_dict()) == call


@pytest.mark.parametrize(
    "changes",
    [
        {"format": 2},
        {"id": ""},
        {"token": None},
        {"sql": None},
        {"http": {"method": "GET", "path": "/"}},
        {"timeout_s": 301},
        {"timeout_s": 0},
        {"max_rows": 10_001},
        {"max_rows": 1.5},
        {"correlation_id": "x" * 129},
        {"correlation_id": "tab\there"},
        {"sql": "select\x00"},
    ],
)
def test_an_off_contract_exec_call_is_refused(changes: dict[str, Any]) -> None:
    document = sql_call(**changes)

    with pytest.raises(ContractError):
        ExecCall.from_dict(document)


def test_a_result_and_an_error_round_trip_with_the_errors_http_status() -> None:
    done = ExecResult(id="c", result={"rows": [[1]]})
    error = ExecError(ExecErrorCode.GUARDRAIL_DENIED, "no", sqlstate="42501", rule="no-ddl")
    failed = ExecResult(id="c", error=error)

    assert ExecResult.from_dict(done.to_dict()) == done
    assert ExecResult.from_dict(failed.to_dict()).error == ExecError(
        ExecErrorCode.GUARDRAIL_DENIED, "no", status=403, sqlstate="42501", rule="no-ddl"
    )
    assert failed.to_dict()["error"]["status"] == 403


@pytest.mark.parametrize(
    "document",
    [
        {"id": "c", "ok": "yes"},
        {"id": "c", "ok": True},
        {"id": "c", "ok": False, "error": {"code": "nope", "message": "x"}},
        {"id": "c", "ok": False, "error": {"code": "sql_error", "status": 999}},
        {"ok": True, "result": {}},
    ],
)
def test_an_off_contract_result_is_refused(document: dict[str, Any]) -> None:
    with pytest.raises(ContractError):
        ExecResult.from_dict(document)


def test_correlation_ids_are_up_to_128_printable_ascii_characters() -> None:
    assert correlation_id_valid("") and correlation_id_valid("run 42/x~" + "a" * 119)
    assert not correlation_id_valid("a" * 129)
    assert not correlation_id_valid("caf\u00e9")
    assert not correlation_id_valid("line\nbreak")

"""The audit addon's record of HTTP exchanges and model calls: http.request and llm.call
events with redacted paths, excerpts, prompts and completions, and the correlation id."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from dataplane.addons.audit import AuditAddon
from dataplane.core.addons import HttpExchange, LlmCall, ToolCall
from dataplane.core.session import Session
from dataplane.link.spool import Spool
from dataplane.masking.audit_text import mask_statement_text

EMAIL = "alice.example@example.com"


def record(tmp_path: Path, session: Session, exchange: HttpExchange) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        spool = await Spool.open(tmp_path / "spool")
        try:
            AuditAddon(spool, mask_statement_text).exchange_finished(session, exchange)
            await spool.flush()
            (event,) = [e.to_dict() for e in spool.durable_pending(10)]
            return event
        finally:
            await spool.close()

    return asyncio.run(main())


def session(protocol: str = "http") -> Session:
    return Session(protocol=protocol, client_address="127.0.0.1:1", requested_resource="api")


def test_an_http_exchange_is_an_http_request_event_with_redacted_excerpts(
    tmp_path: Path,
) -> None:
    live = session()
    live.correlation_id = "run-42"
    exchange = HttpExchange(
        method="GET",
        path=f"/v1/customers?email={EMAIL}",
        status=200,
        request_bytes=0,
        response_bytes=120,
        duration_s=0.0125,
        response_excerpt=f'{{"email": "{EMAIL}"}}',
    )
    event = record(tmp_path, live, exchange)
    payload = event["payload"]
    assert event["action"] == "http.request"
    assert event["protocol"] == "http"
    assert payload["method"] == "GET"
    assert payload["status"] == 200
    assert payload["duration_ms"] == 12.5
    assert payload["correlation_id"] == "run-42"
    assert EMAIL not in str(payload)
    assert payload["path"].startswith("/v1/customers?email=")


def test_a_refused_exchange_names_the_check_that_refused_it(tmp_path: Path) -> None:
    exchange = HttpExchange(
        method="DELETE", path="/admin", status=403, request_bytes=0, response_bytes=0,
        duration_s=0.001, refused_by="route", error="DELETE /admin is denied by the rule",
    )  # fmt: skip
    payload = record(tmp_path, session(), exchange)["payload"]
    assert (payload["refused_by"], payload["status"]) == ("route", 403)
    assert "correlation_id" not in payload


def test_a_model_call_is_an_llm_call_event_with_redacted_prompt_and_completion(
    tmp_path: Path,
) -> None:
    call = LlmCall(
        api="openai.chat",
        model="gpt-4o-mini",
        stream=True,
        prompt=f"Write to {EMAIL}",
        completion=f"Echo: Write to {EMAIL}",
        tool_calls=(ToolCall(name="send_mail", arguments=f'{{"to": "{EMAIL}"}}'),),
        input_tokens=5,
        output_tokens=7,
        finish_reason="stop",
        time_to_first_chunk_s=0.25,
        prompt_masked={"EMAIL_ADDRESS": 1},
    )
    exchange = HttpExchange(
        method="POST", path="/v1/chat/completions", status=200, request_bytes=80,
        response_bytes=400, duration_s=0.5, llm=call,
    )  # fmt: skip
    event = record(tmp_path, session("llm"), exchange)
    payload = event["payload"]
    assert event["action"] == "llm.call"
    assert (payload["model"], payload["stream"], payload["finish_reason"]) == (
        "gpt-4o-mini", True, "stop",
    )  # fmt: skip
    assert (payload["input_tokens"], payload["output_tokens"]) == (5, 7)
    assert payload["time_to_first_chunk_ms"] == 250.0
    assert payload["tool_calls"][0]["name"] == "send_mail"
    assert payload["prompt_masked"] == {"EMAIL_ADDRESS": 1}
    assert EMAIL not in str(payload)

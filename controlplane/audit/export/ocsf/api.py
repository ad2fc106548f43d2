"""API Activity (6003): model calls (``llm.call``), tool calls (``tool.call``, MCP
``mcp.tool_call``) and exec calls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlplane.audit.export.ocsf.common import (
    OTHER,
    Entry,
    Event,
    count_of,
    duration_of,
    src_endpoint,
    status_of,
)
from controlplane.audit.export.ocsf.http import exchange_status, http_request


def api_activity(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    operation = str(
        payload.get("operation") or payload.get("model") or payload.get("tool") or entry["action"]
    )
    event: Event = {
        "class_uid": 6003,
        "class_name": "API Activity",
        "category_name": "Application Activity",
        "activity_id": OTHER,
        "activity_name": str(entry["action"]),
        "api": {"operation": operation, "service": {"name": entry.get("resource") or ""}},
        "src_endpoint": src_endpoint(entry),
        **status_of(bool(payload.get("error"))),
    }
    if payload.get("method") or payload.get("url"):
        event["http_request"] = {
            "http_method": payload.get("method"),
            "url": {"url_string": payload.get("url")},
        }
    return event


# An llm.call is API Activity, not HTTP Activity: what an analyst asks of it is which model
# was called and what it cost (operation = the model, usage in ``unmapped.llm_usage``, as
# OCSF 1.3 has no model or token attributes), not the POST that carried it; the HTTP
# method, path and status still ride along in ``http_request`` and ``api.response``.
def llm_call(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    event = api_activity(entry)
    status = count_of(payload.get("status"))
    if status:
        event["api"]["response"] = {"code": status}
    if payload.get("correlation_id"):
        event["api"]["request"] = {"uid": str(payload["correlation_id"])}
    if payload.get("path"):
        event["http_request"] = http_request(payload)
    event.update(exchange_status(payload))
    event.update(duration_of(payload))
    event["unmapped"] = {"llm_usage": llm_usage(payload)}
    return event


def llm_usage(payload: Mapping[str, Any]) -> dict[str, Any]:
    tokens_in, tokens_out = (
        count_of(payload.get("input_tokens")),
        count_of(payload.get("output_tokens")),
    )
    # None: the provider reported no usage (a cut stream), which is not the same as 0.
    total = tokens_in + tokens_out if tokens_in is not None and tokens_out is not None else None
    return {
        "model": payload.get("model") or "",
        "api": payload.get("api") or "",
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": total,
        "finish_reason": payload.get("finish_reason") or "",
    }

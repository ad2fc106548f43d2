"""HTTP Activity (4002): requests on http resources, and the request, traffic and status
parts model calls share."""

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

# The request method → HTTP Activity's activity (any other method is Other).
HTTP_ACTIVITIES = {
    "CONNECT": 1,
    "DELETE": 2,
    "GET": 3,
    "HEAD": 4,
    "OPTIONS": 5,
    "POST": 6,
    "PUT": 7,
    "TRACE": 8,
    "PATCH": 9,
}


def http_request_event(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    method = str(payload.get("method") or "").upper()
    event: Event = {
        "class_uid": 4002,
        "class_name": "HTTP Activity",
        "category_name": "Network Activity",
        "activity_id": HTTP_ACTIVITIES.get(method, OTHER),
        "activity_name": method.capitalize() or "Other",
        "src_endpoint": src_endpoint(entry),
        # The responder is the resource's upstream; the agent in between is the proxy.
        "dst_endpoint": {"name": entry.get("resource") or "unknown", "svc_name": "http"},
        "http_request": http_request(payload),
        "traffic": traffic(payload),
        **exchange_status(payload),
        **duration_of(payload),
    }
    if entry.get("agent"):
        event["proxy"] = {"name": entry["agent"], "svc_name": "gatehouse-agent"}
    status = count_of(payload.get("status"))
    if status:  # 0: the gateway answered before any upstream response
        event["http_response"] = {"code": status}
        event["http_status"] = status
    return event


def traffic(payload: Mapping[str, Any]) -> dict[str, int]:
    # From the client's side: out = its request, in = the response it got.
    sent = count_of(payload.get("request_bytes")) or 0
    received = count_of(payload.get("response_bytes")) or 0
    return {"bytes_out": sent, "bytes_in": received, "bytes": sent + received}


def http_request(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The method and the upstream path (as the agent logged it, redacted) split at ``?``."""
    path, _, query = str(payload.get("path") or "").partition("?")
    # No url_string: the agent logs the upstream path, not an absolute URL.
    url: dict[str, Any] = {"path": path}
    url.update({"query_string": query} if query else {})
    request: dict[str, Any] = {"http_method": str(payload.get("method") or "").upper(), "url": url}
    if payload.get("correlation_id"):
        request["uid"] = str(payload["correlation_id"])
    return request


def exchange_status(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A request the gateway refused (``refused_by``: route, budget, ...) or that failed on
    the way is a failure; an upstream's own 4xx/5xx answer is a relayed success, its code
    in the response."""
    refused = str(payload.get("refused_by") or "")
    error = str(payload.get("error") or "")
    detail = f"refused by the gateway: {refused}" if refused else error
    return status_of(bool(refused or error), detail, str(payload.get("status") or ""))

"""The audit log as OCSF 1.3.0 events: one pure function from a leaf document to an event.

Classes (requirements checked against the OCSF 1.3.0 schema, see the tests):

| entries | OCSF class |
|---|---|
| sign-ins/outs, token minting and exchange, agent logins, refused connections | Auth. 3002 |
| database statements and cancel requests | Datastore Activity 6005 |
| requests on http resources (``http.request``) | HTTP Activity 4002 |
| model and tool calls (``llm.call``, ``tool.call``, MCP ``mcp.tool_call``) | API Activity 6003 |
| masking (``masking.applied``, ``masking.failed``) | Data Security Finding 2006 |
| blocked/held commands and tool calls, missing agent events | Detection Finding 2004 |
| accounts and ephemeral database roles created or dropped | Account Change 3001 |
| grants, access requests, resources, policies, keys, agents, issuers | Entity Management 3004 |
| anything else | Base Event 0 (the schema's generic event: no guessed class) |

Every event carries ``metadata.uid`` = the log seq (``metadata.sequence`` too) and
``metadata.original_time`` = the entry's own time string; ``unmapped`` holds the entry's
fields OCSF has no place for (actor and on_behalf_of as logged, the payload whole).

The on-behalf-of chain: OCSF 1.3 has no delegation object, and ``actor.invoked_by`` is
deprecated since 1.2.0 in favour of ``actor.app_name``/``app_uid`` ("the client application
or service that initiated the activity ... in conjunction with the user"). So when an AI
agent acts for a person, ``actor.user`` is that person (the user context the activity was
initiated from) and ``actor.app_name``/``app_uid`` name the agent's identity that acted;
otherwise ``actor.user`` is the identity that acted. Authentication events keep the
authenticating identity itself in ``user``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

OCSF_VERSION = "1.3.0"
PRODUCT = {"name": "Gatehouse", "vendor_name": "Gatehouse", "feature": {"name": "audit log"}}
SEVERITY_INFORMATIONAL, SEVERITY_MEDIUM = 1, 3
STATUS_SUCCESS, STATUS_FAILURE = 1, 2
OTHER = 99

Entry = Mapping[str, Any]
Event = dict[str, Any]


def ocsf_event(entry: Entry) -> Event:
    """The OCSF 1.3.0 event for one audit leaf document (``ledger.leaf`` format v1)."""
    mapper = _mapper_for(str(entry["action"]))
    event = mapper(entry)
    extra_unmapped = event.pop("unmapped", {})
    class_uid = event["class_uid"]
    event.setdefault("severity_id", SEVERITY_INFORMATIONAL)
    return {
        "category_uid": class_uid // 1000,
        "type_uid": class_uid * 100 + event["activity_id"],
        "time": epoch_milliseconds(entry["time"]),
        "metadata": _metadata(entry),
        "actor": _actor(entry),
        "message": _message(entry),
        **event,
        "unmapped": {**_unmapped(entry), **extra_unmapped},
    }


def epoch_milliseconds(rfc3339: str) -> int:
    """OCSF ``timestamp_t``: milliseconds since the epoch."""
    moment = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def _mapper_for(action: str) -> Callable[[Entry], Event]:
    if action in _MAPPERS:
        return _MAPPERS[action]
    if action.split(".", 1)[0] in ENTITY_TYPES:
        return _entity_management
    return _base_event


def _metadata(entry: Entry) -> dict[str, Any]:
    return {
        "version": OCSF_VERSION,
        "product": PRODUCT,
        "uid": str(entry["seq"]),
        "sequence": entry["seq"],
        "original_time": entry["time"],
        "log_name": "gatehouse-audit",
        "log_provider": entry.get("agent") or "controlplane",
    }


def _user(principal: Mapping[str, Any] | None) -> dict[str, Any]:
    principal = principal or {}
    kind = str(principal.get("kind") or "anonymous")
    user: dict[str, Any] = {"name": principal.get("name") or kind, "type": kind}
    user["type_id"] = USER_TYPE_IDS.get(kind, OTHER)
    if principal.get("sub"):
        user["uid"] = principal["sub"]
    return user


USER_TYPE_IDS = {"user": 1, "system": 3, "anonymous": 0}


def _actor(entry: Entry) -> dict[str, Any]:
    acting, principal = entry.get("actor") or {}, entry.get("on_behalf_of")
    if principal:
        actor: dict[str, Any] = {"user": _user(principal), "app_name": acting.get("name") or ""}
        actor.update({"app_uid": acting["sub"]} if acting.get("sub") else {})
    else:
        actor = {"user": _user(acting)}
    if entry.get("session"):
        actor["session"] = {"uid": entry["session"]}
    return actor


def _message(entry: Entry) -> str:
    actor = (entry.get("actor") or {}).get("name") or "anonymous"
    where = f" on {entry['resource']}" if entry.get("resource") else ""
    return f"{entry['action']} by {actor}{where}"


def _unmapped(entry: Entry) -> dict[str, Any]:
    keys = (
        "source",
        "agent",
        "agent_seq",
        "actor",
        "on_behalf_of",
        "resource",
        "protocol",
        "session",
    )
    return {**{key: entry.get(key) for key in keys}, "payload": entry.get("payload") or {}}


def _status(failed: bool, detail: str = "", code: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"status_id": STATUS_FAILURE if failed else STATUS_SUCCESS}
    status["status"] = "Failure" if failed else "Success"
    if failed:
        status["severity_id"] = SEVERITY_MEDIUM
        status.update({"status_detail": detail} if detail else {})
        status.update({"status_code": code} if code else {})
    return status


def _src_endpoint(entry: Entry) -> dict[str, Any]:
    address = str((entry.get("payload") or {}).get("client_address") or "")
    if address:
        return {"ip": address.rsplit(":", 1)[0].strip("[]")}
    # Statements do not repeat the client address (it is in the session's start event):
    # the session names the client's connection instead.
    return {"uid": entry.get("session") or "unknown", "name": "client"}


def _service(entry: Entry) -> dict[str, Any]:
    if entry.get("agent"):
        return {"name": entry.get("resource") or "gatehouse-agent", "uid": entry["agent"]}
    return {"name": "gatehouse-controlplane"}


# --- Authentication (3002) -------------------------------------------------------------

AUTH_PROTOCOLS = {"oidc": (4, "OpenID"), "saml": (5, "SAML"), "oauth": (6, "OAUTH 2.0")}


def _authentication(
    entry: Entry, *, activity: tuple[int, str], failed: bool, protocol: str = "", user: Any = None
) -> Event:
    payload = entry.get("payload") or {}
    protocol_id, protocol_name = AUTH_PROTOCOLS.get(protocol, (OTHER, protocol or "Other"))
    return {
        "class_uid": 3002,
        "class_name": "Authentication",
        "category_name": "Identity & Access Management",
        "activity_id": activity[0],
        "activity_name": activity[1],
        "user": user or _user(entry.get("actor")),
        "service": _service(entry),
        "auth_protocol_id": protocol_id,
        "auth_protocol": protocol_name,
        **_status(failed, str(payload.get("reason") or payload.get("message") or "")),
    }


LOGON, LOGOFF = (1, "Logon"), (2, "Logoff")


def _signed_in(entry: Entry) -> Event:
    method = str((entry.get("payload") or {}).get("method", ""))
    return _authentication(entry, activity=LOGON, failed=False, protocol=method)


def _sign_in_refused(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    user = {"name": payload.get("subject") or "unknown", "type": "external", "type_id": 0}
    method = str(payload.get("method", ""))
    return _authentication(entry, activity=LOGON, failed=True, protocol=method, user=user)


def _signed_out(entry: Entry) -> Event:
    return _authentication(entry, activity=LOGOFF, failed=False)


def _token_minted(entry: Entry) -> Event:
    activity = (OTHER, "Token Minted")
    user = _payload_identity(entry)
    return _authentication(entry, activity=activity, failed=False, protocol="oauth", user=user)


def _token_exchanged(entry: Entry) -> Event:
    activity = (OTHER, "Token Exchange")
    return _authentication(entry, activity=activity, failed=False, protocol="oauth")


def _token_exchange_refused(entry: Entry) -> Event:
    activity = (OTHER, "Token Exchange")
    return _authentication(entry, activity=activity, failed=True, protocol="oauth")


def _gateway_logon(entry: Entry) -> Event:
    event = _authentication(entry, activity=LOGON, failed=False, protocol="gateway token")
    return {**event, "src_endpoint": _src_endpoint(entry), "is_remote": True}


def _gateway_logoff(entry: Entry) -> Event:
    return _authentication(entry, activity=LOGOFF, failed=False, protocol="gateway token")


def _mcp_auth_refused(entry: Entry) -> Event:
    # A request to the MCP server without an acceptable bearer token (gateway or IdP).
    event = _authentication(entry, activity=LOGON, failed=True, protocol="bearer token")
    return {**event, "src_endpoint": _src_endpoint(entry), "is_remote": True}


def _connection_refused(entry: Entry) -> Event:
    event = _authentication(entry, activity=LOGON, failed=True, protocol="gateway token")
    return {**event, "src_endpoint": _src_endpoint(entry), "is_remote": True}


# --- Datastore Activity (6005) ---------------------------------------------------------

# The first word of a PostgreSQL command tag → the Datastore Activity it is.
DATASTORE_ACTIVITIES = {
    "SELECT": (1, "Read"),
    "UPDATE": (2, "Update"),
    "INSERT": (5, "Write"),
    "COPY": (5, "Write"),
    "CREATE": (6, "Create"),
    "DELETE": (7, "Delete"),
    "DROP": (7, "Delete"),
    "TRUNCATE": (7, "Delete"),
}
QUERY = (4, "Query")


def _datastore(entry: Entry, activity: tuple[int, str]) -> Event:
    return {
        "class_uid": 6005,
        "class_name": "Datastore Activity",
        "category_name": "Application Activity",
        "activity_id": activity[0],
        "activity_name": activity[1],
        "src_endpoint": _src_endpoint(entry),
        "dst_endpoint": {
            "name": entry.get("agent") or "gatehouse",
            "svc_name": entry.get("protocol") or "",
        },
        "database": {"name": entry.get("resource") or "", "type": "Relational", "type_id": 1},
        "type_id": 1,
        "type": "Database",
    }


def _statement(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    tags = payload.get("command_tags") or []
    verb = str(tags[0]).split(" ", 1)[0].upper() if tags else ""
    event = _datastore(entry, DATASTORE_ACTIVITIES.get(verb, QUERY))
    event["query_info"] = {"query_string": str(payload.get("statement", ""))}
    error = payload.get("error") or {}
    return {
        **event,
        **_status(bool(error), str(error.get("message", "")), str(error.get("code", ""))),
    }


def _cancel_request(entry: Entry) -> Event:
    return _datastore(entry, (OTHER, "Cancel"))


# --- API Activity (6003) ---------------------------------------------------------------


def _api_activity(entry: Entry) -> Event:
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
        "src_endpoint": _src_endpoint(entry),
        **_status(bool(payload.get("error"))),
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
def _llm_call(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    event = _api_activity(entry)
    status = _count(payload.get("status"))
    if status:
        event["api"]["response"] = {"code": status}
    if payload.get("correlation_id"):
        event["api"]["request"] = {"uid": str(payload["correlation_id"])}
    if payload.get("path"):
        event["http_request"] = _http_request(payload)
    event.update(_exchange_status(payload))
    event.update(_duration(payload))
    event["unmapped"] = {"llm_usage": _llm_usage(payload)}
    return event


def _llm_usage(payload: Mapping[str, Any]) -> dict[str, Any]:
    tokens_in, tokens_out = (
        _count(payload.get("input_tokens")),
        _count(payload.get("output_tokens")),
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


# --- HTTP Activity (4002) --------------------------------------------------------------

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


def _http_request_event(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    method = str(payload.get("method") or "").upper()
    event: Event = {
        "class_uid": 4002,
        "class_name": "HTTP Activity",
        "category_name": "Network Activity",
        "activity_id": HTTP_ACTIVITIES.get(method, OTHER),
        "activity_name": method.capitalize() or "Other",
        "src_endpoint": _src_endpoint(entry),
        # The responder is the resource's upstream; the agent in between is the proxy.
        "dst_endpoint": {"name": entry.get("resource") or "unknown", "svc_name": "http"},
        "http_request": _http_request(payload),
        "traffic": _traffic(payload),
        **_exchange_status(payload),
        **_duration(payload),
    }
    if entry.get("agent"):
        event["proxy"] = {"name": entry["agent"], "svc_name": "gatehouse-agent"}
    status = _count(payload.get("status"))
    if status:  # 0: the gateway answered before any upstream response
        event["http_response"] = {"code": status}
        event["http_status"] = status
    return event


def _traffic(payload: Mapping[str, Any]) -> dict[str, int]:
    # From the client's side: out = its request, in = the response it got.
    sent = _count(payload.get("request_bytes")) or 0
    received = _count(payload.get("response_bytes")) or 0
    return {"bytes_out": sent, "bytes_in": received, "bytes": sent + received}


def _duration(payload: Mapping[str, Any]) -> dict[str, int]:
    """OCSF ``duration``: whole milliseconds (the agent logs ``duration_ms`` as a float)."""
    duration = payload.get("duration_ms")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        return {"duration": int(duration)}
    return {}


def _count(value: object) -> int | None:
    """A non-negative integer from the payload, None for anything else: the export never
    fails on an odd value, it leaves the attribute out (the payload is in unmapped whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _http_request(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The method and the upstream path (as the agent logged it, redacted) split at ``?``."""
    path, _, query = str(payload.get("path") or "").partition("?")
    # No url_string: the agent logs the upstream path, not an absolute URL.
    url: dict[str, Any] = {"path": path}
    url.update({"query_string": query} if query else {})
    request: dict[str, Any] = {"http_method": str(payload.get("method") or "").upper(), "url": url}
    if payload.get("correlation_id"):
        request["uid"] = str(payload["correlation_id"])
    return request


def _exchange_status(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A request the gateway refused (``refused_by``: route, budget, ...) or that failed on
    the way is a failure; an upstream's own 4xx/5xx answer is a relayed success, its code
    in the response."""
    refused = str(payload.get("refused_by") or "")
    error = str(payload.get("error") or "")
    detail = f"refused by the gateway: {refused}" if refused else error
    return _status(bool(refused or error), detail, str(payload.get("status") or ""))


# --- Findings: Data Security (2006) and Detection (2004) -------------------------------


def _finding_info(entry: Entry, title: str) -> dict[str, Any]:
    return {
        "uid": f"gatehouse-audit-{entry['seq']}",
        "title": title,
        "types": [str(entry["action"])],
    }


def _masking_applied(entry: Entry) -> Event:
    return {
        "class_uid": 2006,
        "class_name": "Data Security Finding",
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "finding_info": _finding_info(entry, "Sensitive data masked"),
        "database": {"name": entry.get("resource") or "", "type": "Relational", "type_id": 1},
    }


def _masking_failed(entry: Entry) -> Event:
    # Never a leak (the value was redacted or the statement ended), but a finding to review:
    # results came out more redacted than the policy asked, or a statement was cut short.
    ended = (entry.get("payload") or {}).get("action") == "statement_ended"
    return {
        **_masking_applied(entry),
        "severity_id": SEVERITY_MEDIUM,
        "finding_info": _finding_info(
            entry, "Masking failed: statement ended" if ended else "Masking failed: value redacted"
        ),
    }


DETECTIONS = {
    "guardrail.denied": ((2, "Denied"), (2, "Blocked"), "Command blocked by a guardrail"),
    "guardrail.held": ((OTHER, "Held"), (14, "Delayed"), "Command held for approval"),
    # The agent's record of how a hold ended (payload outcome: approved, denied, expired,
    # withdrawn) and of a result cut at the row limit.
    "guardrail.hold_resolved": (
        (OTHER, "Hold resolved"),
        (OTHER, "Resolved"),
        "Held command resolved",
    ),
    "guardrail.row_limit": ((2, "Denied"), (2, "Blocked"), "Result cut at a guardrail row limit"),
    # An MCP tool rule held a tool call for a person's decision.
    "mcp.tool_call_held": ((OTHER, "Held"), (14, "Delayed"), "Tool call held for approval"),
    # The control plane noticed an agent's events missing: the log's completeness is at stake.
    "audit.agent_seq_gap": ((0, "Unknown"), (15, "Detected"), "Agent audit events missing"),
}


def _detection(entry: Entry) -> Event:
    action, disposition, title = DETECTIONS[str(entry["action"])]
    return {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "severity_id": SEVERITY_MEDIUM,
        "finding_info": _finding_info(entry, title),
        "action_id": action[0],
        "action": action[1],
        "disposition_id": disposition[0],
        "disposition": disposition[1],
        "resources": [{"name": entry.get("resource") or "", "type": entry.get("protocol") or ""}],
    }


# --- Account Change (3001) and Entity Management (3004) --------------------------------


def _account_created(entry: Entry) -> Event:
    return _account_change(entry, (1, "Create"), _payload_identity(entry))


def _payload_identity(entry: Entry) -> dict[str, Any]:
    """The identity a control-plane payload names (``identity``, ``identity_name``, ``kind``)."""
    payload = entry.get("payload") or {}
    return _user(
        {
            "sub": payload.get("identity"),
            "name": payload.get("identity_name"),
            "kind": payload.get("kind"),
        }
    )


def _credential(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    user = {
        "name": payload.get("credential") or "unknown",
        "type": "Ephemeral database role",
        "type_id": OTHER,
    }
    activity = (1, "Create") if entry["action"] == "credential.created" else (6, "Delete")
    return _account_change(entry, activity, user)


def _account_change(entry: Entry, activity: tuple[int, str], user: dict[str, Any]) -> Event:
    return {
        "class_uid": 3001,
        "class_name": "Account Change",
        "category_name": "Identity & Access Management",
        "activity_id": activity[0],
        "activity_name": activity[1],
        "user": user,
    }


ENTITY_TYPES = {
    "grant": "Grant",
    "access_request": "Access Request",
    "resource": "Resource",
    "policy": "Policy",
    "incident": "Incident",
    "api_key": "API Key",
    "signing_key": "Signing Key",
    "trusted_issuer": "Trusted Issuer",
    "agent": "Agent",
    "service_account": "Service Account Binding",
    "audit": "Audit Log",
    "log_key": "Log Signing Key",
    "masking_policy": "Masking Policy",
    "masking_key": "Masking Key",
    "guardrail_policy": "Guardrail Policy",
    # The control plane's decisions on held statements (guardrail.hold_approved, ...).
    "guardrail": "Statement Hold",
    # ... and on held MCP tool calls (mcp.hold_approved, ...).
    "mcp": "Tool Call Hold",
    "mcp_tool_rule": "MCP Tool Rule",
    # A person asking an agent to end a session (session.terminate_requested).
    "session": "Session",
}
ENTITY_ACTIVITIES = {
    "created": (1, "Create"),
    "registered": (1, "Create"),
    "updated": (3, "Update"),
    "rotated": (3, "Update"),
    "approval_added": (3, "Update"),
    "approved": (8, "Enable"),
    "denied": (9, "Disable"),
    "revoked": (9, "Disable"),
    "withdrawn": (11, "Deactivate"),
    "expired": (11, "Deactivate"),
    "ended": (11, "Deactivate"),
    "deleted": (4, "Delete"),
    "bound": (1, "Create"),
    "declared": (1, "Create"),
    "resolved": (11, "Deactivate"),
    "consumed": (3, "Update"),
    "connected": (10, "Activate"),
    "disconnected": (11, "Deactivate"),
    "exported": (OTHER, "Export"),
    "hold_approved": (8, "Enable"),
    "hold_denied": (9, "Disable"),
    "hold_expired": (11, "Deactivate"),
    "hold_withdrawn": (11, "Deactivate"),
    "terminate_requested": (11, "Deactivate"),
}
ENTITY_UID_KEYS = ("grant", "request", "id", "kid", "prefix", "policy", "name")


def _entity_management(entry: Entry) -> Event:
    kind, _, verb = str(entry["action"]).partition(".")
    payload = entry.get("payload") or {}
    entity: dict[str, Any] = {
        "type": ENTITY_TYPES.get(kind, kind),
        "name": entry.get("resource") or kind,
    }
    uid = next((payload[key] for key in ENTITY_UID_KEYS if payload.get(key)), None)
    if uid is not None:
        entity["uid"] = str(uid)
    activity = ENTITY_ACTIVITIES.get(verb, (OTHER, verb or "Other"))
    return {
        "class_uid": 3004,
        "class_name": "Entity Management",
        "category_name": "Identity & Access Management",
        "activity_id": activity[0],
        "activity_name": activity[1],
        "entity": entity,
        "comment": str(payload.get("reason") or ""),
    }


# --- Base Event (0): the documented fallback -------------------------------------------


def _rate_limited(entry: Entry) -> Event:
    # A sign-in or token request refused for arriving too fast: a failed logon attempt.
    activity = (OTHER, "Rate Limited")
    return _authentication(entry, activity=activity, failed=True)


def _base_event(entry: Entry) -> Event:
    return {
        "class_uid": 0,
        "class_name": "Base Event",
        "activity_id": OTHER,
        "activity_name": str(entry["action"]),
    }


_MAPPERS: dict[str, Callable[[Entry], Event]] = {
    "identity.signed_in": _signed_in,
    "identity.signed_out": _signed_out,
    "identity.sign_in_refused": _sign_in_refused,
    "token.minted": _token_minted,
    "token.exchanged": _token_exchanged,
    "token.exchange_refused": _token_exchange_refused,
    "auth.rate_limited": _rate_limited,
    "session.start": _gateway_logon,
    "session.end": _gateway_logoff,
    "connection.refused": _connection_refused,
    "statement": _statement,
    "cancel.request": _cancel_request,
    "http.request": _http_request_event,
    "llm.call": _llm_call,
    "tool.call": _api_activity,
    "mcp.tool_call": _api_activity,
    "mcp.tool_call_held": _detection,
    "mcp.auth_refused": _mcp_auth_refused,
    "exec.call": _api_activity,
    "masking.applied": _masking_applied,
    "masking.failed": _masking_failed,
    "guardrail.denied": _detection,
    "guardrail.held": _detection,
    "guardrail.hold_resolved": _detection,
    "guardrail.row_limit": _detection,
    "audit.agent_seq_gap": _detection,
    "admin.created": _account_created,
    "service_account.created": _account_created,
    "credential.created": _credential,
    "credential.dropped": _credential,
}

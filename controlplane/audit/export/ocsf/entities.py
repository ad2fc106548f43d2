"""Account Change (3001) for accounts and ephemeral database roles, Entity Management (3004)
for grants, access requests, resources, policies, keys, agents, issuers and holds."""

from __future__ import annotations

from typing import Any

from controlplane.audit.export.ocsf.common import OTHER, Entry, Event, payload_identity


def account_created(entry: Entry) -> Event:
    return account_change(entry, (1, "Create"), payload_identity(entry))


def credential(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    user = {
        "name": payload.get("credential") or "unknown",
        "type": "Ephemeral database role",
        "type_id": OTHER,
    }
    activity = (1, "Create") if entry["action"] == "credential.created" else (6, "Delete")
    return account_change(entry, activity, user)


def account_change(entry: Entry, activity: tuple[int, str], user: dict[str, Any]) -> Event:
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


def entity_management(entry: Entry) -> Event:
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

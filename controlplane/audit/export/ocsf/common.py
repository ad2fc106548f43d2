"""What every OCSF event shares: the version and product, the actor (with the on-behalf-of
chain), metadata, message and unmapped fields, status, endpoints, and readers of payload
numbers that never fail the export."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

OCSF_VERSION = "1.3.0"


PRODUCT = {"name": "Gatehouse", "vendor_name": "Gatehouse", "feature": {"name": "audit log"}}


SEVERITY_INFORMATIONAL, SEVERITY_MEDIUM = 1, 3


STATUS_SUCCESS, STATUS_FAILURE = 1, 2


OTHER = 99


Entry = Mapping[str, Any]


Event = dict[str, Any]


def epoch_milliseconds(rfc3339: str) -> int:
    """OCSF ``timestamp_t``: milliseconds since the epoch."""
    moment = datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    return int(moment.timestamp() * 1000)


def metadata_of(entry: Entry) -> dict[str, Any]:
    return {
        "version": OCSF_VERSION,
        "product": PRODUCT,
        "uid": str(entry["seq"]),
        "sequence": entry["seq"],
        "original_time": entry["time"],
        "log_name": "gatehouse-audit",
        "log_provider": entry.get("agent") or "controlplane",
    }


def user_of(principal: Mapping[str, Any] | None) -> dict[str, Any]:
    principal = principal or {}
    kind = str(principal.get("kind") or "anonymous")
    user: dict[str, Any] = {"name": principal.get("name") or kind, "type": kind}
    user["type_id"] = USER_TYPE_IDS.get(kind, OTHER)
    if principal.get("sub"):
        user["uid"] = principal["sub"]
    return user


USER_TYPE_IDS = {"user": 1, "system": 3, "anonymous": 0}


def actor_of(entry: Entry) -> dict[str, Any]:
    acting, principal = entry.get("actor") or {}, entry.get("on_behalf_of")
    if principal:
        actor: dict[str, Any] = {"user": user_of(principal), "app_name": acting.get("name") or ""}
        actor.update({"app_uid": acting["sub"]} if acting.get("sub") else {})
    else:
        actor = {"user": user_of(acting)}
    if entry.get("session"):
        actor["session"] = {"uid": entry["session"]}
    return actor


def message_of(entry: Entry) -> str:
    actor = (entry.get("actor") or {}).get("name") or "anonymous"
    where = f" on {entry['resource']}" if entry.get("resource") else ""
    return f"{entry['action']} by {actor}{where}"


def unmapped_of(entry: Entry) -> dict[str, Any]:
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


def status_of(failed: bool, detail: str = "", code: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"status_id": STATUS_FAILURE if failed else STATUS_SUCCESS}
    status["status"] = "Failure" if failed else "Success"
    if failed:
        status["severity_id"] = SEVERITY_MEDIUM
        status.update({"status_detail": detail} if detail else {})
        status.update({"status_code": code} if code else {})
    return status


def src_endpoint(entry: Entry) -> dict[str, Any]:
    address = str((entry.get("payload") or {}).get("client_address") or "")
    if address:
        return {"ip": address.rsplit(":", 1)[0].strip("[]")}
    # Statements do not repeat the client address (it is in the session's start event):
    # the session names the client's connection instead.
    return {"uid": entry.get("session") or "unknown", "name": "client"}


def service_of(entry: Entry) -> dict[str, Any]:
    if entry.get("agent"):
        return {"name": entry.get("resource") or "gatehouse-agent", "uid": entry["agent"]}
    return {"name": "gatehouse-controlplane"}


def payload_identity(entry: Entry) -> dict[str, Any]:
    """The identity a control-plane payload names (``identity``, ``identity_name``, ``kind``)."""
    payload = entry.get("payload") or {}
    return user_of(
        {
            "sub": payload.get("identity"),
            "name": payload.get("identity_name"),
            "kind": payload.get("kind"),
        }
    )


def duration_of(payload: Mapping[str, Any]) -> dict[str, int]:
    """OCSF ``duration``: whole milliseconds (the agent logs ``duration_ms`` as a float)."""
    duration = payload.get("duration_ms")
    if isinstance(duration, int | float) and not isinstance(duration, bool):
        return {"duration": int(duration)}
    return {}


def count_of(value: object) -> int | None:
    """A non-negative integer from the payload, None for anything else: the export never
    fails on an odd value, it leaves the attribute out (the payload is in unmapped whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None

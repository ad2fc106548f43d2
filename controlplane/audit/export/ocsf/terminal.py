"""Network Activity (4001), activity Traffic: a terminal recording's output and resizes.

A terminal stream (SSH, Kubernetes exec) is bytes across the session's connection; OCSF has
no terminal class, so each chunk is traffic on that connection, its size counted from the
client's side (output reaches the client: bytes in). The text itself stays in ``unmapped``
with the rest of the (masked) payload."""

from __future__ import annotations

from controlplane.audit.export.ocsf.common import Entry, Event, src_endpoint

TRAFFIC = (6, "Traffic")


def terminal_io(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    data = payload.get("data")
    event: Event = {
        "class_uid": 4001,
        "class_name": "Network Activity",
        "category_name": "Network Activity",
        "activity_id": TRAFFIC[0],
        "activity_name": TRAFFIC[1],
        "src_endpoint": src_endpoint(entry),
        "dst_endpoint": {
            "name": entry.get("resource") or "unknown",
            "svc_name": entry.get("protocol") or "terminal",
        },
    }
    if isinstance(data, str):
        event["traffic"] = {"bytes_in": len(data.encode())}
    return event

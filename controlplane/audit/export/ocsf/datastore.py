"""Datastore Activity (6005): database statements (the activity from the command tag) and
cancel requests."""

from __future__ import annotations

from controlplane.audit.export.ocsf.common import OTHER, Entry, Event, src_endpoint, status_of

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


def datastore(entry: Entry, activity: tuple[int, str]) -> Event:
    return {
        "class_uid": 6005,
        "class_name": "Datastore Activity",
        "category_name": "Application Activity",
        "activity_id": activity[0],
        "activity_name": activity[1],
        "src_endpoint": src_endpoint(entry),
        "dst_endpoint": {
            "name": entry.get("agent") or "gatehouse",
            "svc_name": entry.get("protocol") or "",
        },
        "database": {"name": entry.get("resource") or "", "type": "Relational", "type_id": 1},
        "type_id": 1,
        "type": "Database",
    }


def statement(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    tags = payload.get("command_tags") or []
    verb = str(tags[0]).split(" ", 1)[0].upper() if tags else ""
    event = datastore(entry, DATASTORE_ACTIVITIES.get(verb, QUERY))
    event["query_info"] = {"query_string": str(payload.get("statement", ""))}
    error = payload.get("error") or {}
    return {
        **event,
        **status_of(bool(error), str(error.get("message", "")), str(error.get("code", ""))),
    }


def cancel_request(entry: Entry) -> Event:
    return datastore(entry, (OTHER, "Cancel"))

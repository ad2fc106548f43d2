"""One audit leaf document to one OCSF event: the class's mapper (chosen by the entry's
action) fills the class attributes, the common fields go around them."""

from __future__ import annotations

from collections.abc import Callable

from controlplane.audit.export.ocsf import api, datastore, entities, findings, http, terminal
from controlplane.audit.export.ocsf import authentication as auth
from controlplane.audit.export.ocsf.common import (
    OTHER,
    SEVERITY_INFORMATIONAL,
    Entry,
    Event,
    actor_of,
    epoch_milliseconds,
    message_of,
    metadata_of,
    unmapped_of,
)

Mapper = Callable[[Entry], Event]


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
        "metadata": metadata_of(entry),
        "actor": actor_of(entry),
        "message": message_of(entry),
        **event,
        "unmapped": {**unmapped_of(entry), **extra_unmapped},
    }


def _mapper_for(action: str) -> Mapper:
    if action in MAPPERS:
        return MAPPERS[action]
    if action.split(".", 1)[0] in entities.ENTITY_TYPES:
        return entities.entity_management
    return base_event


def base_event(entry: Entry) -> Event:
    """Base Event (0), the schema's generic event: the documented fallback, no guessed class."""
    return {
        "class_uid": 0,
        "class_name": "Base Event",
        "activity_id": OTHER,
        "activity_name": str(entry["action"]),
    }


# action -> mapper; an action not listed is Entity Management when its first word names an
# entity type (grant.created, ...), else a Base Event.
MAPPERS: dict[str, Mapper] = {
    "identity.signed_in": auth.signed_in,
    "identity.signed_out": auth.signed_out,
    "identity.sign_in_refused": auth.sign_in_refused,
    "token.minted": auth.token_minted,
    "token.exchanged": auth.token_exchanged,
    "token.exchange_refused": auth.token_exchange_refused,
    "auth.rate_limited": auth.rate_limited,
    "session.start": auth.gateway_logon,
    "session.end": auth.gateway_logoff,
    "connection.refused": auth.connection_refused,
    "mcp.auth_refused": auth.mcp_auth_refused,
    "statement": datastore.statement,
    "cancel.request": datastore.cancel_request,
    "http.request": http.http_request_event,
    "llm.call": api.llm_call,
    "tool.call": api.api_activity,
    "mcp.tool_call": api.api_activity,
    "exec.call": api.api_activity,
    "masking.applied": findings.masking_applied,
    "masking.failed": findings.masking_failed,
    "guardrail.denied": findings.detection,
    "guardrail.held": findings.detection,
    "guardrail.hold_resolved": findings.detection,
    "guardrail.row_limit": findings.detection,
    "mcp.tool_call_held": findings.detection,
    "audit.agent_seq_gap": findings.detection,
    "admin.created": entities.account_created,
    "service_account.created": entities.account_created,
    "credential.created": entities.credential,
    "credential.dropped": entities.credential,
    "terminal.output": terminal.terminal_io,
    "terminal.resize": terminal.terminal_io,
}

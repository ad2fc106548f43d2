"""Findings: Data Security Finding (2006) for masking, Detection Finding (2004) for blocked
and held commands and tool calls and for missing agent events."""

from __future__ import annotations

from typing import Any

from controlplane.audit.export.ocsf.common import OTHER, SEVERITY_MEDIUM, Entry, Event


def finding_info(entry: Entry, title: str) -> dict[str, Any]:
    return {
        "uid": f"gatehouse-audit-{entry['seq']}",
        "title": title,
        "types": [str(entry["action"])],
    }


def masking_applied(entry: Entry) -> Event:
    return {
        "class_uid": 2006,
        "class_name": "Data Security Finding",
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "finding_info": finding_info(entry, "Sensitive data masked"),
        "database": {"name": entry.get("resource") or "", "type": "Relational", "type_id": 1},
    }


def masking_failed(entry: Entry) -> Event:
    # Never a leak (the value was redacted or the statement ended), but a finding to review:
    # results came out more redacted than the policy asked, or a statement was cut short.
    ended = (entry.get("payload") or {}).get("action") == "statement_ended"
    return {
        **masking_applied(entry),
        "severity_id": SEVERITY_MEDIUM,
        "finding_info": finding_info(
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


def detection(entry: Entry) -> Event:
    action, disposition, title = DETECTIONS[str(entry["action"])]
    return {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_name": "Findings",
        "activity_id": 1,
        "activity_name": "Create",
        "severity_id": SEVERITY_MEDIUM,
        "finding_info": finding_info(entry, title),
        "action_id": action[0],
        "action": action[1],
        "disposition_id": disposition[0],
        "disposition": disposition[1],
        "resources": [{"name": entry.get("resource") or "", "type": entry.get("protocol") or ""}],
    }

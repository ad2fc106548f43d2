"""MCP events in the OCSF export: a tool call is API Activity in the person's context through
the agent; a held call is a Detection Finding; a decision on it is Entity Management."""

from __future__ import annotations

from controlplane.audit.export.ocsf import ocsf_event
from tests.controlplane.audit.export.entries import AGENT_SMITH, ALICE, entry
from tests.controlplane.audit.export.test_ocsf import assert_conforms


def test_a_tool_call_is_api_activity_with_the_tool_as_operation() -> None:
    call = entry(
        "mcp.tool_call",
        actor=AGENT_SMITH,
        on_behalf_of=ALICE,
        resource="appdb",
        payload={"tool": "query_database", "outcome": "denied_by_rule", "error": True},
    )
    event = ocsf_event(call)

    assert_conforms(event)
    assert (event["class_uid"], event["api"]["operation"]) == (6003, "query_database")
    assert event["status_id"] == 2  # failure
    assert event["actor"]["user"]["name"] == "alice"


def test_a_held_tool_call_is_a_delayed_detection_finding() -> None:
    event = ocsf_event(entry("mcp.tool_call_held", actor=AGENT_SMITH, resource="appdb"))
    assert_conforms(event)
    assert (event["class_uid"], event["disposition"]) == (2004, "Delayed")


def test_a_decision_on_a_held_call_is_entity_management_of_the_hold() -> None:
    event = ocsf_event(entry("mcp.hold_approved", resource="appdb", payload={"hold": "h-1"}))
    assert_conforms(event)
    assert (event["class_uid"], event["activity_name"]) == (3004, "Enable")
    assert event["entity"]["type"] == "Tool Call Hold"

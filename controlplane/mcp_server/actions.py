"""Audit actions recorded by the MCP server (kept beside the app, like ``guardrails.actions``)."""

from enum import StrEnum


class McpAction(StrEnum):
    # One per tool call, whatever became of it (outcome in the payload).
    TOOL_CALL = "mcp.tool_call"
    # A tool rule held the call for a person's decision.
    TOOL_CALL_HELD = "mcp.tool_call_held"
    HOLD_APPROVED = "mcp.hold_approved"
    HOLD_DENIED = "mcp.hold_denied"
    # Nobody decided before the hold's deadline.
    HOLD_EXPIRED = "mcp.hold_expired"
    # A request without an acceptable bearer token (the first per client and minute).
    AUTH_REFUSED = "mcp.auth_refused"
    MCP_TOOL_RULE_CREATED = "mcp_tool_rule.created"
    MCP_TOOL_RULE_UPDATED = "mcp_tool_rule.updated"
    MCP_TOOL_RULE_DELETED = "mcp_tool_rule.deleted"

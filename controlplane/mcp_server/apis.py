"""Tool rule API (administrators write; administrators and auditors read: the scoped rules'
API) and the tool-call hold API (approvers and administrators read and decide; the services
check the approver role of each hold's resource: the held work API, as for statements)."""

from __future__ import annotations

from controlplane.mcp_server.holds import tool_call_hold_approve, tool_call_hold_deny
from controlplane.mcp_server.selectors import tool_call_holds_visible_to
from controlplane.mcp_server.serializers import ToolCallHoldSerializer, ToolRuleSerializer
from controlplane.mcp_server.services import TOOL_RULES
from controlplane.policies.hold_apis import HoldDecisionApi, HoldListApi
from controlplane.scoped_rules.apis import ScopedRuleDetailApi, ScopedRuleListCreateApi


class ToolRules:
    kind = TOOL_RULES
    serializer = ToolRuleSerializer
    operations = "mcp_tool_rules"


class ToolRuleListCreateApi(ToolRules, ScopedRuleListCreateApi):
    pass


class ToolRuleDetailApi(ToolRules, ScopedRuleDetailApi):
    pass


class ToolCallHolds:
    serializer = ToolCallHoldSerializer
    visible_to = staticmethod(tool_call_holds_visible_to)
    operations = "tool_call_holds"
    noun = "held tool call"


class ToolCallHoldListApi(ToolCallHolds, HoldListApi):
    pass


class ToolCallHoldApproveApi(ToolCallHolds, HoldDecisionApi):
    decision = "approve"
    decide = staticmethod(tool_call_hold_approve)


class ToolCallHoldDenyApi(ToolCallHolds, HoldDecisionApi):
    decision = "deny"
    decide = staticmethod(tool_call_hold_deny)

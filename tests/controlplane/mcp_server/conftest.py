"""Fixtures for MCP server tests: a quick way to write a tool rule, and the access personas
(erin in "dba" approves appdb; bob is an administrator; alice requests; agent-smith is the
AI service account, auto-approved on appdb for up to 15 minutes)."""

from __future__ import annotations

from typing import Any

from controlplane.identities.models import User
from controlplane.mcp_server.models import ToolRule
from controlplane.mcp_server.services import ToolRuleSpec, tool_rule_create
from tests.controlplane.access.conftest import (  # noqa: F401
    appdb_policy,
    developer_alice,
    erin,
    frank,
)


def rule(name: str, actor: User | None = None, **fields: Any) -> ToolRule:
    """Create the tool rule ``name`` (every tool, allow, unless ``fields`` say otherwise)."""
    return tool_rule_create(actor=actor, name=name, spec=ToolRuleSpec(**fields))

"""Writes for tool rules, through the scoped rules' (``scoped_rules.services``). Only the
control plane's MCP server reads them (agents never see them, so no config revision bump);
every change writes its audit event, with the rule before and after, in the same
transaction."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.identities.models import User
from controlplane.mcp_server.actions import McpAction
from controlplane.mcp_server.models import EVERY_TOOL, TOOL_NAMES, ToolRule
from controlplane.scoped_rules.services import (
    ScopedRuleKind,
    ScopedRuleSpec,
    hold_timeout_errors,
    scoped_rule_create,
    scoped_rule_delete,
    scoped_rule_set,
    scoped_rule_update,
)


@dataclass(frozen=True)
class ToolRuleSpec(ScopedRuleSpec):
    """Everything a tool rule says but its name; the services store it whole."""

    tool: str = EVERY_TOOL
    effect: str = ToolRule.Effect.ALLOW
    hold_timeout_s: int = 300


def _tool_errors(spec: ToolRuleSpec) -> dict[str, list[str]]:
    errors = hold_timeout_errors(spec.hold_timeout_s)
    if spec.tool not in (EVERY_TOOL, *TOOL_NAMES):
        errors["tool"] = [f"one of {list(TOOL_NAMES)}, or * for every tool"]
    if spec.effect not in ToolRule.Effect.values:
        errors["effect"] = [f"must be one of {ToolRule.Effect.values}"]
    return errors


TOOL_RULES = ScopedRuleKind(
    model=ToolRule,
    spec=ToolRuleSpec,
    noun="tool rule",
    created=McpAction.MCP_TOOL_RULE_CREATED,
    updated=McpAction.MCP_TOOL_RULE_UPDATED,
    deleted=McpAction.MCP_TOOL_RULE_DELETED,
    own_fields=("tool", "effect", "hold_timeout_s"),
    own_errors=_tool_errors,
)


def tool_rule_create(*, actor: User | None, name: str, spec: ToolRuleSpec) -> ToolRule:
    """Create the tool rule ``name``; a ValidationError if the name is taken."""
    return scoped_rule_create(kind=TOOL_RULES, actor=actor, name=name, spec=spec)


def tool_rule_update(*, actor: User | None, rule: ToolRule, spec: ToolRuleSpec) -> ToolRule:
    """Replace everything ``rule`` says (but its name) with ``spec``."""
    return scoped_rule_update(kind=TOOL_RULES, actor=actor, rule=rule, spec=spec)


def tool_rule_set(*, actor: User | None, name: str, spec: ToolRuleSpec) -> tuple[ToolRule, bool]:
    """Create the rule ``name`` or replace it whole; returns it and whether it is new."""
    return scoped_rule_set(kind=TOOL_RULES, actor=actor, name=name, spec=spec)


def tool_rule_delete(*, actor: User | None, rule: ToolRule) -> None:
    """Delete ``rule``; the calls it decided fall to the next matching rule (or are allowed)."""
    scoped_rule_delete(kind=TOOL_RULES, actor=actor, rule=rule)

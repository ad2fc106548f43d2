"""Writes for tool rules. Only the control plane's MCP server reads them (agents never see
them, so no config revision bump); every change writes its audit event, with the rule
before and after, in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.mcp_server.actions import McpAction
from controlplane.mcp_server.models import EVERY_TOOL, TOOL_NAMES, ToolRule
from controlplane.resources.models import Resource

# A week, as for held statements: a call held longer than that is better made again.
MAX_HOLD_TIMEOUT_S = 7 * 86400


@dataclass(frozen=True)
class ToolRuleSpec:
    """Everything a tool rule says but its name; the services store it whole."""

    tool: str = EVERY_TOOL
    effect: str = ToolRule.Effect.ALLOW
    description: str = ""
    resource: Resource | None = None  # None: every resource
    applies_to: str = ToolRule.AppliesTo.EVERYONE
    groups: Sequence[str] = ()
    priority: int = 0
    enabled: bool = True
    hold_timeout_s: int = 300


def tool_rule_create(*, actor: User | None, name: str, spec: ToolRuleSpec) -> ToolRule:
    """Create the tool rule ``name``; a ValidationError if the name is taken."""
    _validate(spec)
    with transaction.atomic():
        if ToolRule.objects.filter(name=name).exists():
            raise ValidationError({"name": [f"a tool rule named {name!r} exists"]})
        return _write(actor=actor, rule=ToolRule(name=name, created_by=actor), spec=spec)


def tool_rule_update(*, actor: User | None, rule: ToolRule, spec: ToolRuleSpec) -> ToolRule:
    """Replace everything ``rule`` says (but its name) with ``spec``."""
    _validate(spec)
    with transaction.atomic():
        locked = ToolRule.objects.select_for_update().get(pk=rule.pk)
        return _write(actor=actor, rule=locked, spec=spec)


def tool_rule_set(*, actor: User | None, name: str, spec: ToolRuleSpec) -> tuple[ToolRule, bool]:
    """Create the rule ``name`` or replace it whole; returns it and whether it is new."""
    _validate(spec)
    with transaction.atomic():
        rule = ToolRule.objects.select_for_update().filter(name=name).first()
        created = rule is None
        rule = rule or ToolRule(name=name, created_by=actor)
        return _write(actor=actor, rule=rule, spec=spec), created


def tool_rule_delete(*, actor: User | None, rule: ToolRule) -> None:
    """Delete ``rule``; the calls it decided fall to the next matching rule (or are allowed)."""
    with transaction.atomic():
        locked = ToolRule.objects.select_for_update().get(pk=rule.pk)
        before = tool_rule_document(locked)
        locked.delete()
        audit_event_record(
            actor=actor,
            action=McpAction.MCP_TOOL_RULE_DELETED,
            resource=before["resource"] or "",
            payload={"name": before["name"], "before": before, "after": None},
        )


def tool_rule_spec_of(rule: ToolRule) -> ToolRuleSpec:
    """The spec that would store ``rule`` as it is (partial updates start from it)."""
    return ToolRuleSpec(
        tool=rule.tool,
        effect=rule.effect,
        description=rule.description,
        resource=rule.resource,
        applies_to=rule.applies_to,
        groups=sorted(g.name for g in rule.groups.all()),
        priority=rule.priority,
        enabled=rule.enabled,
        hold_timeout_s=rule.hold_timeout_s,
    )


def tool_rule_document(rule: ToolRule) -> dict[str, Any]:
    """The rule as plain data (audit payloads): names, never database ids."""
    return {
        "name": rule.name,
        "description": rule.description,
        "tool": rule.tool,
        "resource": rule.resource.name if rule.resource_id else None,
        "applies_to": rule.applies_to,
        "groups": sorted(g.name for g in rule.groups.all()) if rule.pk else [],
        "effect": rule.effect,
        "priority": rule.priority,
        "enabled": rule.enabled,
        "hold_timeout_s": rule.hold_timeout_s,
    }


def _write(*, actor: User | None, rule: ToolRule, spec: ToolRuleSpec) -> ToolRule:
    """Store ``spec`` on ``rule`` with its audit event (in the caller's transaction)."""
    before = tool_rule_document(rule) if rule.pk else None
    _apply(rule, spec)
    rule.updated_by = actor
    rule.updated_at = timezone.now()
    rule.full_clean(exclude=["groups"], validate_unique=False)
    rule.save()
    rule.groups.set([Group.objects.get_or_create(name=n)[0] for n in dict.fromkeys(spec.groups)])
    after = tool_rule_document(rule)
    audit_event_record(
        actor=actor,
        action=McpAction.MCP_TOOL_RULE_CREATED
        if before is None
        else McpAction.MCP_TOOL_RULE_UPDATED,
        resource=after["resource"] or "",
        payload={"name": rule.name, "before": before, "after": after},
    )
    return rule


def _apply(rule: ToolRule, spec: ToolRuleSpec) -> None:
    rule.tool = spec.tool
    rule.effect = spec.effect
    rule.description = spec.description
    rule.resource = spec.resource
    rule.applies_to = spec.applies_to
    rule.priority = spec.priority
    rule.enabled = spec.enabled
    rule.hold_timeout_s = spec.hold_timeout_s


def _validate(spec: ToolRuleSpec) -> None:
    errors: dict[str, list[str]] = {}
    if spec.tool not in (EVERY_TOOL, *TOOL_NAMES):
        errors["tool"] = [f"one of {list(TOOL_NAMES)}, or * for every tool"]
    if spec.effect not in ToolRule.Effect.values:
        errors["effect"] = [f"must be one of {ToolRule.Effect.values}"]
    if spec.applies_to not in ToolRule.AppliesTo.values:
        errors["applies_to"] = [f"must be one of {ToolRule.AppliesTo.values}"]
    if any(not str(name).strip() for name in spec.groups):
        errors["groups"] = ["group names must not be empty"]
    if not 1 <= spec.hold_timeout_s <= MAX_HOLD_TIMEOUT_S:
        errors["hold_timeout_s"] = [f"must be between 1 and {MAX_HOLD_TIMEOUT_S} seconds"]
    if errors:
        raise ValidationError(errors)

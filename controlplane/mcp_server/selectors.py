"""Reads for tool rules and tool-call holds, and the rule that decides a tool call.

Resolution is the scoped rules' (``scoped_rules.resolution``) among the enabled rules for
the call's tool (or ``*``): the highest priority wins; ties go to the most specific (a
resource's own rule over one for every resource, a named tool over ``*``, groups over a
kind, a kind over everyone), then the stricter effect (deny, hold, allow), then the name.
A call no rule matches is allowed: tool rules narrow what an identity may do through MCP;
which resources it reaches is still decided by its grants.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.identities.models import User
from controlplane.mcp_server.models import EVERY_TOOL, ToolCallHold, ToolRule
from controlplane.policies.selectors import holds_visible_to, may_request
from controlplane.resources.models import Resource
from controlplane.scoped_rules.resolution import (
    Subject,
    scoped_rule_winning,
    scoped_rules_list,
    subject_of,
)

# At equal priority and specificity the stricter effect wins (fail closed).
STRICTNESS = {ToolRule.Effect.DENY: 0, ToolRule.Effect.HOLD: 1, ToolRule.Effect.ALLOW: 2}


def tool_rules_list() -> QuerySet[ToolRule]:
    """Every tool rule, by name."""
    return scoped_rules_list(ToolRule)


def tool_rule_get(*, name: str) -> ToolRule:
    """The rule called ``name``; raises ToolRule.DoesNotExist."""
    return tool_rules_list().get(name=name)


def tool_rule_for_call(*, identity: User, tool: str, resource: Resource | None) -> ToolRule | None:
    """The rule deciding ``identity``'s call of ``tool`` on ``resource``; None: allowed."""
    rules = tool_rules_list().filter(enabled=True)
    return tool_rule_matching(
        rules=rules,
        tool=tool,
        resource_id=resource.pk if resource else None,
        subject=subject_of(identity),
    )


def tool_rule_matching(
    *, rules: Iterable[ToolRule], tool: str, resource_id: object, subject: Subject
) -> ToolRule | None:
    """The winning rule among ``rules`` (enabled ones) for one call, or None."""
    return scoped_rule_winning(
        rules=[rule for rule in rules if rule.tool in (EVERY_TOOL, tool)],
        resource_id=resource_id,
        subject=subject,
        narrower=lambda rule: (rule.tool == EVERY_TOOL,),
        stricter=lambda rule: (STRICTNESS[ToolRule.Effect(rule.effect)],),
    )


def tool_call_holds_all() -> QuerySet[ToolCallHold]:
    return ToolCallHold.objects.select_related("identity", "on_behalf_of", "resource", "decided_by")


def tool_call_holds_awaiting(*, approver: User) -> QuerySet[ToolCallHold]:
    """Pending holds ``approver`` may decide: on resources whose access policy makes them an
    approver (any, for administrators), never their own calls nor calls made for them. The
    hold services check all of this again; this is the approver's list."""
    holds = tool_call_holds_visible_to(user=approver).pending(at=timezone.now())
    holds = holds.exclude(identity=approver).exclude(on_behalf_of=approver)
    return holds.order_by("requested_at", "id")


def tool_call_holds_visible_to(*, user: User) -> QuerySet[ToolCallHold]:
    """Held tool calls of any status ``user`` may read (``policies.selectors``)."""
    return holds_visible_to(holds=tool_call_holds_all(), user=user)


@dataclass(frozen=True)
class Reachable:
    """A resource an identity holds a grant on or may request."""

    resource: Resource
    grant: Grant | None  # the active grant lasting longest, if any
    may_request: bool
    max_duration_seconds: int | None  # the access policy's maximum, if it has one


def resources_reachable_by(*, identity: User) -> list[Reachable]:
    """The resources ``identity`` holds an active grant on or may request under their
    access policy (a requester group or a named requester service account), by name."""
    grants: dict[object, Grant] = {}
    for grant in Grant.objects.active().filter(identity=identity).order_by("expires_at"):
        grants[grant.resource_id] = grant  # the later expiry wins
    requestable = Q(policy__requester_groups__user=identity) | Q(
        policy__requester_service_accounts=identity
    )
    resources = (
        Resource.objects.filter(Q(pk__in=list(grants)) | requestable)
        .select_related("policy")
        .distinct()
        .order_by("name")
    )
    return [_reachable(resource, grants.get(resource.pk), identity) for resource in resources]


def resource_named(*, name: str) -> Resource | None:
    """The resource called ``name``, or None."""
    return Resource.objects.select_related("agent").filter(name=name).first()


def _reachable(resource: Resource, grant: Grant | None, identity: User) -> Reachable:
    policy = getattr(resource, "policy", None)
    return Reachable(
        resource=resource,
        grant=grant,
        may_request=policy is not None and may_request(identity=identity, policy=policy),
        max_duration_seconds=policy.max_duration_seconds if policy is not None else None,
    )

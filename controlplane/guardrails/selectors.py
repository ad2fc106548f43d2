"""Reads for guardrail policies and statement holds, and the rule that resolves a grant's
guardrails: the scoped rules' (``scoped_rules.resolution``), as for masking. A grant no
policy matches runs without guardrails.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.agents.models import Agent
from controlplane.guardrails.models import GuardrailPolicy, StatementHold
from controlplane.identities.models import User
from controlplane.policies.selectors import holds_visible_to
from controlplane.scoped_rules.resolution import scoped_rules_for_grants, scoped_rules_list
from dataplane.contract.snapshot import GuardrailProfile

# ``by`` of a decision nobody made (expiry, a hold the control plane cannot attribute).
NOBODY = ""
# What a hold's status tells the agent waiting on it (pending and withdrawn tell nothing).
DECISIONS = {
    StatementHold.Status.APPROVED: "approved",
    StatementHold.Status.DENIED: "denied",
    StatementHold.Status.EXPIRED: "expired",
}


def guardrail_policies_list() -> QuerySet[GuardrailPolicy]:
    """Every guardrail policy, by name."""
    return scoped_rules_list(GuardrailPolicy)


def guardrail_policy_get(*, name: str) -> GuardrailPolicy:
    """The policy called ``name``; raises GuardrailPolicy.DoesNotExist."""
    return guardrail_policies_list().get(name=name)


def guardrail_policy_for_grant(*, grant: Grant) -> GuardrailPolicy | None:
    """The policy judging the statements of sessions on ``grant``; None: no guardrails."""
    return guardrail_policies_for_grants(grants=[grant])[grant.pk]


def guardrail_policies_for_grants(
    *, grants: Sequence[Grant]
) -> dict[object, GuardrailPolicy | None]:
    """Each grant's policy by grant pk, in a fixed number of queries (a snapshot resolves
    every grant of an agent)."""
    policies = list(guardrail_policies_list().filter(enabled=True))
    return scoped_rules_for_grants(rules=policies, grants=grants)


def guardrail_profile_spec(policy: GuardrailPolicy) -> GuardrailProfile:
    """The policy as the contract's GuardrailProfile (what agents receive)."""
    return GuardrailProfile(
        name=policy.name, policy=dict(policy.policy), hold_timeout_s=policy.hold_timeout_s
    )


def statement_holds_awaiting(*, approver: User) -> QuerySet[StatementHold]:
    """Pending holds ``approver`` may decide: on resources whose access policy makes them
    an approver (any, for administrators), never their own statements. The hold services
    check all of this again; this is the approver's list."""
    holds = statement_holds_visible_to(user=approver).pending(at=timezone.now())
    return holds.exclude(identity=approver).order_by("requested_at", "id")


def statement_holds_visible_to(*, user: User) -> QuerySet[StatementHold]:
    """Held statements of any status ``user`` may read (``policies.selectors``)."""
    return holds_visible_to(holds=statement_holds_all(), user=user)


def hold_decision_body(hold: StatementHold) -> dict[str, Any] | None:
    """The ``hold_decision`` frame's body for a decided hold; None while pending (or
    withdrawn: the agent no longer waits for it)."""
    decision = DECISIONS.get(StatementHold.Status(hold.status))
    if decision is None or hold.decided_at is None:
        return None
    by = hold.decided_by.get_username() if hold.decided_by else NOBODY
    return {"id": str(hold.pk), "decision": decision, "by": by, "at": hold.decided_at.isoformat()}


def hold_decisions_for(*, agent: Agent, hold_ids: Iterable[object]) -> list[dict[str, Any]]:
    """The ``hold_decision`` bodies of those of ``agent``'s holds that have been decided
    (its websocket polls for them: a decision made in another process reaches the agent
    without a shared channel layer)."""
    decided = statement_holds_all().filter(agent=agent, pk__in=list(hold_ids))
    bodies = (hold_decision_body(hold) for hold in decided.exclude(status="pending"))
    return [body for body in bodies if body is not None]


def statement_holds_all() -> QuerySet[StatementHold]:
    return StatementHold.objects.select_related("identity", "resource", "agent", "decided_by")

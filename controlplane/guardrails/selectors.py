"""Reads for guardrail policies and statement holds, and the rule that resolves a grant's
guardrails.

Resolution is masking's (``masking.selectors``): of the enabled policies matching a grant's
resource (or every resource) and identity (its kind, and its groups when the policy names
groups), the highest priority wins; ties go to the most specific (a resource's own policy
over a global one, groups over a kind, a kind over everyone), then the name. A grant no
policy matches runs without guardrails.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from controlplane.access.models import Grant
from controlplane.agents.models import Agent
from controlplane.guardrails.models import GuardrailPolicy, StatementHold
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin
from controlplane.masking.selectors import Subject
from dataplane.contract.snapshot import GuardrailProfile

# ``by`` of a decision nobody made (expiry, a hold the control plane cannot attribute).
NOBODY = ""
# What a hold's status tells the agent waiting on it (pending and withdrawn tell nothing).
DECISIONS = {
    StatementHold.Status.APPROVED: "approved",
    StatementHold.Status.DENIED: "denied",
    StatementHold.Status.EXPIRED: "expired",
}

KIND_APPLIES_TO = {
    User.Kind.USER: GuardrailPolicy.AppliesTo.PEOPLE,
    User.Kind.SERVICE_ACCOUNT: GuardrailPolicy.AppliesTo.SERVICE_ACCOUNTS,
}


def guardrail_policies_list() -> QuerySet[GuardrailPolicy]:
    """Every guardrail policy, by name."""
    return (
        GuardrailPolicy.objects.select_related("resource", "created_by", "updated_by")
        .prefetch_related("groups")
        .order_by("name")
    )


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
    subjects = _subjects({grant.identity_id for grant in grants})
    return {
        grant.pk: guardrail_policy_matching(
            policies=policies, resource_id=grant.resource_id, subject=subjects[grant.identity_id]
        )
        for grant in grants
    }


def guardrail_policy_matching(
    *, policies: Iterable[GuardrailPolicy], resource_id: object, subject: Subject
) -> GuardrailPolicy | None:
    """The winning policy among ``policies`` (enabled ones) for one grant, or None."""
    matching = [p for p in policies if _matches(p, resource_id=resource_id, subject=subject)]
    return min(matching, key=_precedence, default=None)


def guardrail_profile_spec(policy: GuardrailPolicy) -> GuardrailProfile:
    """The policy as the contract's GuardrailProfile (what agents receive)."""
    return GuardrailProfile(
        name=policy.name, policy=dict(policy.policy), hold_timeout_s=policy.hold_timeout_s
    )


def statement_holds_awaiting(*, approver: User) -> QuerySet[StatementHold]:
    """Pending holds ``approver`` may decide: on resources whose access policy makes them
    an approver (any, for administrators), never their own statements. The hold services
    check all of this again; this is the approver's list."""
    if not approver.is_active or approver.is_service_account:
        return StatementHold.objects.none()
    holds = statement_holds_all().pending(at=timezone.now()).exclude(identity=approver)
    if not is_admin(approver):
        holds = holds.filter(resource__policy__approver_groups__user=approver).distinct()
    return holds.order_by("requested_at", "id")


def statement_holds_visible_to(*, user: User) -> QuerySet[StatementHold]:
    """Holds of any status ``user`` may read: administrators all, approvers those on the
    resources they approve for. Held statements are exact texts: nobody else reads them."""
    if not user.is_active or user.is_service_account:
        return StatementHold.objects.none()
    if is_admin(user):
        return statement_holds_all()
    return statement_holds_all().filter(resource__policy__approver_groups__user=user).distinct()


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


def _matches(policy: GuardrailPolicy, *, resource_id: object, subject: Subject) -> bool:
    if policy.resource_id is not None and policy.resource_id != resource_id:
        return False
    everyone = policy.applies_to == GuardrailPolicy.AppliesTo.EVERYONE
    if not everyone and policy.applies_to != KIND_APPLIES_TO.get(subject.kind):
        return False
    group_ids = {group.pk for group in policy.groups.all()}  # prefetched
    return not group_ids or bool(group_ids & subject.group_ids)


def _precedence(policy: GuardrailPolicy) -> tuple[int, bool, bool, bool, str]:
    """Smallest first: higher priority, then more specific, then the name."""
    return (
        -policy.priority,
        policy.resource_id is None,
        not policy.groups.all(),
        policy.applies_to == GuardrailPolicy.AppliesTo.EVERYONE,
        policy.name,
    )


def _subjects(identity_ids: set[object]) -> dict[object, Subject]:
    """Each identity's kind and groups, in two queries (masking resolves the same way)."""
    memberships: dict[object, set[int]] = defaultdict(set)
    for user_id, group_id in User.groups.through.objects.filter(
        user_id__in=identity_ids
    ).values_list("user_id", "group_id"):
        memberships[user_id].add(group_id)
    kinds = User.objects.filter(pk__in=identity_ids).values_list("pk", "kind")
    return {pk: Subject(kind=kind, group_ids=frozenset(memberships[pk])) for pk, kind in kinds}

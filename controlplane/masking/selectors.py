"""Reads for masking policies, and the one rule that resolves a grant's masking.

Resolution: of the enabled policies matching a grant's resource (or every resource) and
identity (its kind, and its groups when the policy names groups), the highest priority
wins. Ties go to the most specific: a resource's own policy over a global one, a policy
naming groups over one naming only a kind, a kind over everyone; then the name, in order.
A grant no policy matches is unmasked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import QuerySet

from controlplane.access.models import Grant
from controlplane.identities.models import User
from controlplane.masking.models import MaskingPolicy
from dataplane.contract import CustomPattern, MaskingProfile

KIND_APPLIES_TO = {
    User.Kind.USER: MaskingPolicy.AppliesTo.PEOPLE,
    User.Kind.SERVICE_ACCOUNT: MaskingPolicy.AppliesTo.SERVICE_ACCOUNTS,
}


@dataclass(frozen=True)
class Subject:
    """What resolution needs to know about a grant's identity."""

    kind: str  # a User.Kind value
    group_ids: frozenset[int]


def masking_policies_list() -> QuerySet[MaskingPolicy]:
    """Every masking policy, by name."""
    return (
        MaskingPolicy.objects.select_related("resource", "created_by", "updated_by")
        .prefetch_related("groups")
        .order_by("name")
    )


def masking_policy_get(*, name: str) -> MaskingPolicy:
    """The policy called ``name``; raises MaskingPolicy.DoesNotExist."""
    return masking_policies_list().get(name=name)


def masking_profile_for_grant(*, grant: Grant) -> MaskingPolicy | None:
    """The policy masking the sessions on ``grant``; None: unmasked."""
    return masking_policies_for_grants(grants=[grant])[grant.pk]


def masking_policies_for_grants(*, grants: Sequence[Grant]) -> dict[object, MaskingPolicy | None]:
    """Each grant's policy by grant pk, in three queries however many grants there are
    (a snapshot resolves every grant of an agent)."""
    policies = list(masking_policies_list().filter(enabled=True))
    subjects = _subjects({grant.identity_id for grant in grants})
    return {
        grant.pk: masking_policy_matching(
            policies=policies, resource_id=grant.resource_id, subject=subjects[grant.identity_id]
        )
        for grant in grants
    }


def masking_policy_matching(
    *, policies: Iterable[MaskingPolicy], resource_id: object, subject: Subject
) -> MaskingPolicy | None:
    """The winning policy among ``policies`` (enabled ones) for one grant, or None."""
    matching = [p for p in policies if _matches(p, resource_id=resource_id, subject=subject)]
    return min(matching, key=_precedence, default=None)


def masking_profile_spec(policy: MaskingPolicy) -> MaskingProfile:
    """The policy as the contract's MaskingProfile (what agents receive)."""
    return MaskingProfile(
        name=policy.name,
        default_strategy=policy.default_strategy,
        strategies=dict(policy.strategies),
        entities=tuple(policy.entities),
        column_rules=dict(policy.column_rules),
        json_key_rules=dict(policy.json_key_rules),
        deny_list=tuple(policy.deny_list),
        custom_patterns=tuple(
            CustomPattern(**{**pattern, "context": tuple(pattern.get("context", ()))})
            for pattern in policy.custom_patterns
        ),
        on_failure=policy.on_failure,
        statement_budget_ms=policy.statement_budget_ms,
        max_value_bytes=policy.max_value_bytes,
    )


def _matches(policy: MaskingPolicy, *, resource_id: object, subject: Subject) -> bool:
    if policy.resource_id is not None and policy.resource_id != resource_id:
        return False
    everyone = policy.applies_to == MaskingPolicy.AppliesTo.EVERYONE
    if not everyone and policy.applies_to != KIND_APPLIES_TO.get(subject.kind):
        return False
    group_ids = {group.pk for group in policy.groups.all()}  # prefetched
    return not group_ids or bool(group_ids & subject.group_ids)


def _precedence(policy: MaskingPolicy) -> tuple[int, bool, bool, bool, str]:
    """Smallest first: higher priority, then more specific, then the name."""
    return (
        -policy.priority,
        policy.resource_id is None,
        not policy.groups.all(),
        policy.applies_to == MaskingPolicy.AppliesTo.EVERYONE,
        policy.name,
    )


def _subjects(identity_ids: set[object]) -> dict[object, Subject]:
    memberships: dict[object, set[int]] = defaultdict(set)
    for user_id, group_id in User.groups.through.objects.filter(
        user_id__in=identity_ids
    ).values_list("user_id", "group_id"):
        memberships[user_id].add(group_id)
    kinds = User.objects.filter(pk__in=identity_ids).values_list("pk", "kind")
    return {pk: Subject(kind=kind, group_ids=frozenset(memberships[pk])) for pk, kind in kinds}

"""Reads for masking policies, and the rule that resolves a grant's masking: the scoped
rules' (``scoped_rules.resolution``). A grant no policy matches is unmasked.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from controlplane.access.models import Grant
from controlplane.masking.models import MaskingPolicy
from controlplane.scoped_rules.resolution import scoped_rules_for_grants, scoped_rules_list
from dataplane.contract import CustomPattern, MaskingProfile


def masking_policies_list() -> QuerySet[MaskingPolicy]:
    """Every masking policy, by name."""
    return scoped_rules_list(MaskingPolicy)


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
    return scoped_rules_for_grants(rules=policies, grants=grants)


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

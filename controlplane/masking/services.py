"""Writes for masking policies, through the scoped rules' (``scoped_rules.services``): a
policy decides what agents mask, so every change bumps the config revision (its agents fetch
a new snapshot after commit) and writes its audit event, with the policy before and after,
in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.masking.actions import MaskingAction
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.validation import masking_profile_errors
from controlplane.scoped_rules.services import (
    ScopedRuleKind,
    ScopedRuleSpec,
    plain,
    scoped_rule_create,
    scoped_rule_delete,
    scoped_rule_set,
    scoped_rule_update,
)

PROFILE_FIELDS = (
    "default_strategy",
    "strategies",
    "entities",
    "column_rules",
    "json_key_rules",
    "deny_list",
    "custom_patterns",
    "on_failure",
    "statement_budget_ms",
    "max_value_bytes",
)


@dataclass(frozen=True)
class MaskingPolicySpec(ScopedRuleSpec):
    """Everything a masking policy says but its name; the services store it whole."""

    default_strategy: str = "redact"
    strategies: Mapping[str, str] = field(default_factory=dict)
    entities: Sequence[str] = ()
    column_rules: Mapping[str, str] = field(default_factory=dict)
    json_key_rules: Mapping[str, str] = field(default_factory=dict)
    deny_list: Sequence[str] = ()
    custom_patterns: Sequence[Mapping[str, Any]] = ()
    on_failure: str = MaskingPolicy.OnFailure.REDACT
    statement_budget_ms: int = 5000
    max_value_bytes: int = 1024 * 1024


def _profile_errors(spec: MaskingPolicySpec) -> dict[str, list[str]]:
    errors = masking_profile_errors({name: plain(getattr(spec, name)) for name in PROFILE_FIELDS})
    for name in ("statement_budget_ms", "max_value_bytes"):
        if getattr(spec, name) < 1:
            errors[name] = ["must be at least 1"]
    return errors


def _profile_apply(policy: MaskingPolicy, spec: MaskingPolicySpec) -> None:
    for name in PROFILE_FIELDS:
        setattr(policy, name, plain(getattr(spec, name)))
    policy.entities = list(dict.fromkeys(spec.entities))
    policy.deny_list = list(dict.fromkeys(spec.deny_list))
    policy.custom_patterns = [dict(pattern) for pattern in spec.custom_patterns]


def _record(**event: Any) -> None:
    """A policy's audit event: this module's audit_event_record, looked up at each call
    (tests put a failing audit store in its place)."""
    audit_event_record(**event)


MASKING_POLICIES = ScopedRuleKind(
    model=MaskingPolicy,
    spec=MaskingPolicySpec,
    noun="masking policy",
    created=MaskingAction.MASKING_POLICY_CREATED,
    updated=MaskingAction.MASKING_POLICY_UPDATED,
    deleted=MaskingAction.MASKING_POLICY_DELETED,
    own_fields=PROFILE_FIELDS,
    own_errors=_profile_errors,
    own_apply=_profile_apply,
    in_snapshots=True,
    record=_record,
)


def masking_policy_create(
    *, actor: User | None, name: str, spec: MaskingPolicySpec
) -> MaskingPolicy:
    """Create the masking policy ``name``; a ValidationError if the name is taken."""
    return scoped_rule_create(kind=MASKING_POLICIES, actor=actor, name=name, spec=spec)


def masking_policy_update(
    *, actor: User | None, policy: MaskingPolicy, spec: MaskingPolicySpec
) -> MaskingPolicy:
    """Replace everything ``policy`` says (but its name) with ``spec``."""
    return scoped_rule_update(kind=MASKING_POLICIES, actor=actor, rule=policy, spec=spec)


def masking_policy_set(
    *, actor: User | None, name: str, spec: MaskingPolicySpec
) -> tuple[MaskingPolicy, bool]:
    """Create the policy ``name`` or replace it whole; returns it and whether it is new."""
    return scoped_rule_set(kind=MASKING_POLICIES, actor=actor, name=name, spec=spec)


def masking_policy_delete(*, actor: User | None, policy: MaskingPolicy) -> None:
    """Delete ``policy``; the grants it masked are resolved again (maybe unmasked now)."""
    scoped_rule_delete(kind=MASKING_POLICIES, actor=actor, rule=policy)

"""Writes for masking policies. A policy decides what agents mask, so every change bumps
the config revision (its agents fetch a new snapshot after commit) and writes its audit
event, with the policy before and after, in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.masking.actions import MaskingAction
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.validation import masking_profile_errors
from controlplane.resources.models import Resource

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
class MaskingPolicySpec:
    """Everything a masking policy says but its name; the services store it whole."""

    description: str = ""
    resource: Resource | None = None  # None: every resource
    applies_to: str = MaskingPolicy.AppliesTo.EVERYONE
    groups: Sequence[str] = ()
    priority: int = 0
    enabled: bool = True
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


def masking_policy_create(
    *, actor: User | None, name: str, spec: MaskingPolicySpec
) -> MaskingPolicy:
    """Create the masking policy ``name``; a ValidationError if the name is taken."""
    _validate(spec)
    with transaction.atomic():
        if MaskingPolicy.objects.filter(name=name).exists():
            raise ValidationError({"name": [f"a masking policy named {name!r} exists"]})
        return _write(actor=actor, policy=MaskingPolicy(name=name, created_by=actor), spec=spec)


def masking_policy_update(
    *, actor: User | None, policy: MaskingPolicy, spec: MaskingPolicySpec
) -> MaskingPolicy:
    """Replace everything ``policy`` says (but its name) with ``spec``."""
    _validate(spec)
    with transaction.atomic():
        locked = MaskingPolicy.objects.select_for_update().get(pk=policy.pk)
        return _write(actor=actor, policy=locked, spec=spec)


def masking_policy_set(
    *, actor: User | None, name: str, spec: MaskingPolicySpec
) -> tuple[MaskingPolicy, bool]:
    """Create the policy ``name`` or replace it whole; returns it and whether it is new."""
    _validate(spec)
    with transaction.atomic():
        policy = MaskingPolicy.objects.select_for_update().filter(name=name).first()
        created = policy is None
        policy = policy or MaskingPolicy(name=name, created_by=actor)
        return _write(actor=actor, policy=policy, spec=spec), created


def masking_policy_delete(*, actor: User | None, policy: MaskingPolicy) -> None:
    """Delete ``policy``; the grants it masked are resolved again (maybe unmasked now)."""
    with transaction.atomic():
        locked = MaskingPolicy.objects.select_for_update().get(pk=policy.pk)
        before = masking_policy_document(locked)
        config_revision_bump(agents=_agents_affected([locked.resource]))
        locked.delete()
        audit_event_record(
            actor=actor,
            action=MaskingAction.MASKING_POLICY_DELETED,
            resource=before["resource"] or "",
            payload={"name": before["name"], "before": before, "after": None},
        )


def masking_policy_spec_of(policy: MaskingPolicy) -> MaskingPolicySpec:
    """The spec that would store ``policy`` as it is (partial updates start from it)."""
    return MaskingPolicySpec(
        description=policy.description,
        resource=policy.resource,
        applies_to=policy.applies_to,
        groups=sorted(g.name for g in policy.groups.all()),
        priority=policy.priority,
        enabled=policy.enabled,
        **{name: getattr(policy, name) for name in PROFILE_FIELDS},
    )


def masking_policy_document(policy: MaskingPolicy) -> dict[str, Any]:
    """The policy as plain data (audit payloads): names, never database ids."""
    return {
        "name": policy.name,
        "description": policy.description,
        "resource": policy.resource.name if policy.resource_id else None,
        "applies_to": policy.applies_to,
        "groups": sorted(g.name for g in policy.groups.all()) if policy.pk else [],
        "priority": policy.priority,
        "enabled": policy.enabled,
        **{name: getattr(policy, name) for name in PROFILE_FIELDS},
    }


def _write(*, actor: User | None, policy: MaskingPolicy, spec: MaskingPolicySpec) -> MaskingPolicy:
    """Store ``spec`` on ``policy`` with its audit event and revision bump (in the
    caller's transaction)."""
    before = masking_policy_document(policy) if policy.pk else None
    # A changed policy may change the snapshots of the agents it reached before, too.
    reached = [policy.resource] if policy.pk else []
    _apply(policy, spec)
    policy.updated_by = actor
    policy.updated_at = timezone.now()
    policy.full_clean(exclude=["groups"], validate_unique=False)
    policy.save()
    policy.groups.set(_groups(spec.groups))
    after = masking_policy_document(policy)
    config_revision_bump(agents=_agents_affected([*reached, policy.resource]))
    created = before is None
    audit_event_record(
        actor=actor,
        action=MaskingAction.MASKING_POLICY_CREATED
        if created
        else MaskingAction.MASKING_POLICY_UPDATED,
        resource=after["resource"] or "",
        payload={"name": policy.name, "before": before, "after": after},
    )
    return policy


def _apply(policy: MaskingPolicy, spec: MaskingPolicySpec) -> None:
    policy.description = spec.description
    policy.resource = spec.resource
    policy.applies_to = spec.applies_to
    policy.priority = spec.priority
    policy.enabled = spec.enabled
    policy.default_strategy = spec.default_strategy
    policy.strategies = dict(spec.strategies)
    policy.entities = list(dict.fromkeys(spec.entities))
    policy.column_rules = dict(spec.column_rules)
    policy.json_key_rules = dict(spec.json_key_rules)
    policy.deny_list = list(dict.fromkeys(spec.deny_list))
    policy.custom_patterns = [dict(pattern) for pattern in spec.custom_patterns]
    policy.on_failure = spec.on_failure
    policy.statement_budget_ms = spec.statement_budget_ms
    policy.max_value_bytes = spec.max_value_bytes


def _agents_affected(resources: Iterable[Resource | None]) -> list[Agent] | None:
    """The agents whose snapshots may change: those serving the resources the policy
    names (before and after a change); every agent (None) when one of them is None, a
    policy for every resource."""
    named = list(resources)
    if any(resource is None for resource in named):
        return None
    return [resource.agent for resource in named if resource is not None]


def _plain(value: Any) -> Any:
    """Tuples as lists and mappings as dicts, the shapes the stored JSON has."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _groups(names: Sequence[str]) -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in dict.fromkeys(names)]


def _validate(spec: MaskingPolicySpec) -> None:
    errors = masking_profile_errors({name: _plain(getattr(spec, name)) for name in PROFILE_FIELDS})
    if spec.applies_to not in MaskingPolicy.AppliesTo.values:
        errors["applies_to"] = [f"must be one of {MaskingPolicy.AppliesTo.values}"]
    if any(not str(name).strip() for name in spec.groups):
        errors["groups"] = ["group names must not be empty"]
    for name in ("statement_budget_ms", "max_value_bytes"):
        if getattr(spec, name) < 1:
            errors[name] = ["must be at least 1"]
    if errors:
        raise ValidationError(errors)

"""Writes for guardrail policies. A policy decides what agents let through, so every change
bumps the config revision (its agents fetch a new snapshot after commit) and writes its
audit event, with the policy before and after, in the same transaction."""

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
from controlplane.guardrails.actions import GuardrailAction
from controlplane.guardrails.models import GuardrailPolicy
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from dataplane.guardrails.document import policy_from_document

# A week: a statement held longer than that is better asked again.
MAX_HOLD_TIMEOUT_S = 7 * 86400


@dataclass(frozen=True)
class GuardrailPolicySpec:
    """Everything a guardrail policy says but its name; the services store it whole."""

    policy: Mapping[str, Any] = field(default_factory=dict)  # a guardrail policy document
    description: str = ""
    resource: Resource | None = None  # None: every resource
    applies_to: str = GuardrailPolicy.AppliesTo.EVERYONE
    groups: Sequence[str] = ()
    priority: int = 0
    enabled: bool = True
    hold_timeout_s: int = 300


def guardrail_policy_create(
    *, actor: User | None, name: str, spec: GuardrailPolicySpec
) -> GuardrailPolicy:
    """Create the guardrail policy ``name``; a ValidationError if the name is taken."""
    _validate(spec)
    with transaction.atomic():
        if GuardrailPolicy.objects.filter(name=name).exists():
            raise ValidationError({"name": [f"a guardrail policy named {name!r} exists"]})
        return _write(actor=actor, policy=GuardrailPolicy(name=name, created_by=actor), spec=spec)


def guardrail_policy_update(
    *, actor: User | None, policy: GuardrailPolicy, spec: GuardrailPolicySpec
) -> GuardrailPolicy:
    """Replace everything ``policy`` says (but its name) with ``spec``."""
    _validate(spec)
    with transaction.atomic():
        locked = GuardrailPolicy.objects.select_for_update().get(pk=policy.pk)
        return _write(actor=actor, policy=locked, spec=spec)


def guardrail_policy_set(
    *, actor: User | None, name: str, spec: GuardrailPolicySpec
) -> tuple[GuardrailPolicy, bool]:
    """Create the policy ``name`` or replace it whole; returns it and whether it is new."""
    _validate(spec)
    with transaction.atomic():
        policy = GuardrailPolicy.objects.select_for_update().filter(name=name).first()
        created = policy is None
        policy = policy or GuardrailPolicy(name=name, created_by=actor)
        return _write(actor=actor, policy=policy, spec=spec), created


def guardrail_policy_delete(*, actor: User | None, policy: GuardrailPolicy) -> None:
    """Delete ``policy``; the grants it judged are resolved again (maybe unguarded now)."""
    with transaction.atomic():
        locked = GuardrailPolicy.objects.select_for_update().get(pk=policy.pk)
        before = guardrail_policy_document(locked)
        config_revision_bump(agents=_agents_affected([locked.resource]))
        locked.delete()
        audit_event_record(
            actor=actor,
            action=GuardrailAction.GUARDRAIL_POLICY_DELETED,
            resource=before["resource"] or "",
            payload={"name": before["name"], "before": before, "after": None},
        )


def guardrail_policy_spec_of(policy: GuardrailPolicy) -> GuardrailPolicySpec:
    """The spec that would store ``policy`` as it is (partial updates start from it)."""
    return GuardrailPolicySpec(
        policy=dict(policy.policy),
        description=policy.description,
        resource=policy.resource,
        applies_to=policy.applies_to,
        groups=sorted(g.name for g in policy.groups.all()),
        priority=policy.priority,
        enabled=policy.enabled,
        hold_timeout_s=policy.hold_timeout_s,
    )


def guardrail_policy_document(policy: GuardrailPolicy) -> dict[str, Any]:
    """The policy as plain data (audit payloads): names, never database ids."""
    return {
        "name": policy.name,
        "description": policy.description,
        "resource": policy.resource.name if policy.resource_id else None,
        "applies_to": policy.applies_to,
        "groups": sorted(g.name for g in policy.groups.all()) if policy.pk else [],
        "priority": policy.priority,
        "enabled": policy.enabled,
        "hold_timeout_s": policy.hold_timeout_s,
        "policy": policy.policy,
    }


def _write(
    *, actor: User | None, policy: GuardrailPolicy, spec: GuardrailPolicySpec
) -> GuardrailPolicy:
    """Store ``spec`` on ``policy`` with its audit event and revision bump (in the
    caller's transaction)."""
    before = guardrail_policy_document(policy) if policy.pk else None
    # A changed policy may change the snapshots of the agents it reached before, too.
    reached = [policy.resource] if policy.pk else []
    _apply(policy, spec)
    policy.updated_by = actor
    policy.updated_at = timezone.now()
    policy.full_clean(exclude=["groups"], validate_unique=False)
    policy.save()
    policy.groups.set(_groups(spec.groups))
    after = guardrail_policy_document(policy)
    config_revision_bump(agents=_agents_affected([*reached, policy.resource]))
    audit_event_record(
        actor=actor,
        action=GuardrailAction.GUARDRAIL_POLICY_CREATED
        if before is None
        else GuardrailAction.GUARDRAIL_POLICY_UPDATED,
        resource=after["resource"] or "",
        payload={"name": policy.name, "before": before, "after": after},
    )
    return policy


def _apply(policy: GuardrailPolicy, spec: GuardrailPolicySpec) -> None:
    policy.policy = dict(spec.policy)
    policy.description = spec.description
    policy.resource = spec.resource
    policy.applies_to = spec.applies_to
    policy.priority = spec.priority
    policy.enabled = spec.enabled
    policy.hold_timeout_s = spec.hold_timeout_s


def _agents_affected(resources: Iterable[Resource | None]) -> list[Agent] | None:
    """The agents whose snapshots may change: those serving the resources the policy
    names (before and after a change); every agent (None) for a policy on every resource."""
    named = list(resources)
    if any(resource is None for resource in named):
        return None
    return [resource.agent for resource in named if resource is not None]


def _groups(names: Sequence[str]) -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in dict.fromkeys(names)]


def _validate(spec: GuardrailPolicySpec) -> None:
    """Refuse a spec the agents could not use. The document is read by the same code the
    agent runs (policy_from_document): a policy stored here is one every agent can read,
    and a document that cannot be read never becomes a weaker policy."""
    errors: dict[str, list[str]] = {}
    policy_error = guardrail_document_error(spec.policy)
    if policy_error:
        errors["policy"] = [policy_error]
    if spec.applies_to not in GuardrailPolicy.AppliesTo.values:
        errors["applies_to"] = [f"must be one of {GuardrailPolicy.AppliesTo.values}"]
    if any(not str(name).strip() for name in spec.groups):
        errors["groups"] = ["group names must not be empty"]
    if not 1 <= spec.hold_timeout_s <= MAX_HOLD_TIMEOUT_S:
        errors["hold_timeout_s"] = [f"must be between 1 and {MAX_HOLD_TIMEOUT_S} seconds"]
    if errors:
        raise ValidationError(errors)


def guardrail_document_error(document: object) -> str:
    """Why ``document`` is not a guardrail policy document the agents can read ("" if it is)."""
    if not isinstance(document, Mapping):
        return "must be a JSON object (a guardrail policy document)"
    try:
        policy_from_document(dict(document))
    except Exception as error:  # any failure to read it refuses it (fail closed)
        return str(error) or type(error).__name__
    return ""

"""Writes for scoped rules, whatever their kind: each change writes its audit event, with the
rule before and after, in the same transaction, and for rules agents receive
(``ScopedRuleKind.in_snapshots``) bumps the config revision of the agents concerned (they
fetch a new snapshot after commit). Each app names its kind once and keeps its own
``<entity>_<action>`` services, which call these."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.resources.models import Resource
from controlplane.scoped_rules.models import AppliesTo

# What every scoped rule says besides its name and groups, stored as the spec has it.
SCOPE_FIELDS = ("description", "resource", "applies_to", "priority", "enabled")
# A week: a statement or tool call held longer than that is better asked again.
MAX_HOLD_TIMEOUT_S = 7 * 86400


@dataclass(frozen=True)
class ScopedRuleSpec:
    """Who and where, as every kind's spec (everything a rule says but its name) starts."""

    description: str = ""
    resource: Resource | None = None  # None: every resource
    applies_to: str = AppliesTo.EVERYONE
    groups: Sequence[str] = ()
    priority: int = 0
    enabled: bool = True


def _no_errors(spec: Any) -> dict[str, list[str]]:
    return {}


@dataclass(frozen=True)
class ScopedRuleKind:
    """One kind of scoped rule, as the shared writes need to know it."""

    model: type[models.Model]
    spec: type[ScopedRuleSpec]
    noun: str  # "masking policy", in messages
    # Its audit actions.
    created: str
    updated: str
    deleted: str
    # What the kind says besides who and where (spec fields, model fields, document keys).
    own_fields: tuple[str, ...]
    # The kind's own checks of a spec: field -> messages.
    own_errors: Callable[[Any], dict[str, list[str]]] = _no_errors
    # Stores the own fields of a spec on a rule; by default each as plain data.
    own_apply: Callable[[Any, Any], None] | None = None
    # Agents receive these rules in their snapshots.
    in_snapshots: bool = False
    # Writes the kind's audit events (audit_event_record's keywords).
    record: Callable[..., Any] = audit_event_record


def scoped_rule_create(
    *, kind: ScopedRuleKind, actor: User | None, name: str, spec: ScopedRuleSpec
) -> Any:
    """Create the rule ``name``; a ValidationError if the name is taken."""
    _validate(kind, spec)
    with transaction.atomic():
        if kind.model._default_manager.filter(name=name).exists():
            raise ValidationError({"name": [f"a {kind.noun} named {name!r} exists"]})
        rule = kind.model(name=name, created_by=actor)
        return _write(kind=kind, actor=actor, rule=rule, spec=spec)


def scoped_rule_update(
    *, kind: ScopedRuleKind, actor: User | None, rule: Any, spec: ScopedRuleSpec
) -> Any:
    """Replace everything ``rule`` says (but its name) with ``spec``."""
    _validate(kind, spec)
    with transaction.atomic():
        locked = kind.model._default_manager.select_for_update().get(pk=rule.pk)
        return _write(kind=kind, actor=actor, rule=locked, spec=spec)


def scoped_rule_set(
    *, kind: ScopedRuleKind, actor: User | None, name: str, spec: ScopedRuleSpec
) -> tuple[Any, bool]:
    """Create the rule ``name`` or replace it whole; returns it and whether it is new."""
    _validate(kind, spec)
    with transaction.atomic():
        rule = kind.model._default_manager.select_for_update().filter(name=name).first()
        created = rule is None
        rule = rule or kind.model(name=name, created_by=actor)
        return _write(kind=kind, actor=actor, rule=rule, spec=spec), created


def scoped_rule_delete(*, kind: ScopedRuleKind, actor: User | None, rule: Any) -> None:
    """Delete ``rule``; what it decided falls to the next matching rule (or to none)."""
    with transaction.atomic():
        locked = kind.model._default_manager.select_for_update().get(pk=rule.pk)
        before = scoped_rule_document(kind=kind, rule=locked)
        _snapshots_changed(kind, [locked.resource])
        locked.delete()
        kind.record(
            actor=actor,
            action=kind.deleted,
            resource=before["resource"] or "",
            payload={"name": before["name"], "before": before, "after": None},
        )


def scoped_rule_spec_of(*, kind: ScopedRuleKind, rule: Any) -> Any:
    """The spec that would store ``rule`` as it is (partial updates start from it)."""
    return kind.spec(
        groups=sorted(g.name for g in rule.groups.all()),
        **{name: getattr(rule, name) for name in (*SCOPE_FIELDS, *kind.own_fields)},
    )


def scoped_rule_document(*, kind: ScopedRuleKind, rule: Any) -> dict[str, Any]:
    """The rule as plain data (audit payloads): names, never database ids."""
    return {
        "name": rule.name,
        "description": rule.description,
        "resource": rule.resource.name if rule.resource_id else None,
        "applies_to": rule.applies_to,
        "groups": sorted(g.name for g in rule.groups.all()) if rule.pk else [],
        "priority": rule.priority,
        "enabled": rule.enabled,
        **{name: getattr(rule, name) for name in kind.own_fields},
    }


def hold_timeout_errors(seconds: int) -> dict[str, list[str]]:
    """A rule's ``hold_timeout_s`` checked (guardrail policies and tool rules hold)."""
    if 1 <= seconds <= MAX_HOLD_TIMEOUT_S:
        return {}
    return {"hold_timeout_s": [f"must be between 1 and {MAX_HOLD_TIMEOUT_S} seconds"]}


def plain(value: Any) -> Any:
    """Mappings as dicts and sequences as lists, the shapes stored JSON has."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | list):
        return list(value)
    return value


def _write(*, kind: ScopedRuleKind, actor: User | None, rule: Any, spec: ScopedRuleSpec) -> Any:
    """Store ``spec`` on ``rule`` with its audit event (and revision bump), in the caller's
    transaction."""
    before = scoped_rule_document(kind=kind, rule=rule) if rule.pk else None
    # A changed rule may change the snapshots of the agents it reached before, too.
    reached = [rule.resource] if rule.pk else []
    _apply(kind, rule, spec)
    rule.updated_by = actor
    rule.updated_at = timezone.now()
    rule.full_clean(exclude=["groups"], validate_unique=False)
    rule.save()
    rule.groups.set([Group.objects.get_or_create(name=n)[0] for n in dict.fromkeys(spec.groups)])
    after = scoped_rule_document(kind=kind, rule=rule)
    _snapshots_changed(kind, [*reached, rule.resource])
    kind.record(
        actor=actor,
        action=kind.created if before is None else kind.updated,
        resource=after["resource"] or "",
        payload={"name": rule.name, "before": before, "after": after},
    )
    return rule


def _apply(kind: ScopedRuleKind, rule: Any, spec: ScopedRuleSpec) -> None:
    for name in SCOPE_FIELDS:
        setattr(rule, name, getattr(spec, name))
    if kind.own_apply is not None:
        kind.own_apply(rule, spec)
        return
    for name in kind.own_fields:
        setattr(rule, name, plain(getattr(spec, name)))


def _snapshots_changed(kind: ScopedRuleKind, resources: Iterable[Resource | None]) -> None:
    if kind.in_snapshots:
        config_revision_bump(agents=_agents_affected(resources))


def _agents_affected(resources: Iterable[Resource | None]) -> list[Agent] | None:
    """The agents whose snapshots may change: those serving the resources the rule names
    (before and after a change); every agent (None) for a rule on every resource."""
    named = list(resources)
    if any(resource is None for resource in named):
        return None
    return [resource.agent for resource in named if resource is not None]


def _validate(kind: ScopedRuleKind, spec: ScopedRuleSpec) -> None:
    errors = kind.own_errors(spec)
    if spec.applies_to not in AppliesTo.values:
        errors["applies_to"] = [f"must be one of {AppliesTo.values}"]
    if any(not str(name).strip() for name in spec.groups):
        errors["groups"] = ["group names must not be empty"]
    if errors:
        raise ValidationError(errors)

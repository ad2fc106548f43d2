"""Writes for policies and incidents. Policies change no agent's snapshot (agents see
grants, not how they came about), so these services bump no config revision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.policies.actions import PolicyAction
from controlplane.policies.models import AutoApprovalRule, Incident, Policy
from controlplane.policies.selectors import resource_access_level_names
from controlplane.resources.models import Resource


@dataclass(frozen=True)
class AutoApprovalRuleSpec:
    """One auto-approval rule as given to :func:`policy_set`: name either a group (by
    name) or a service account."""

    max_duration: timedelta
    group: str = ""
    service_account: User | None = None
    access_level: str = ""
    only_during_incident: bool = False
    scope: str = AutoApprovalRule.Scope.DURATION


@dataclass(frozen=True)
class PolicySpec:
    """Everything a policy says; :func:`policy_set` replaces a policy with it whole."""

    max_duration: timedelta
    requester_groups: Sequence[str] = ()
    requester_service_accounts: Sequence[User] = ()
    approver_groups: Sequence[str] = ()
    min_approvals: int = 1
    access_levels: Sequence[str] = ()
    default_access_level: str = ""
    auto_approvals: Sequence[AutoApprovalRuleSpec] = ()


def policy_set(*, actor: User | None, resource: Resource, spec: PolicySpec) -> tuple[Policy, bool]:
    """Create the policy of ``resource`` or replace it whole with ``spec`` (groups named
    in it are created if new). Returns the policy and whether it was created. The audit
    event holds the policy before and after."""
    _validate(resource=resource, spec=spec)
    with transaction.atomic():
        policy = Policy.objects.select_for_update().filter(resource=resource).first()
        before = policy_document(policy) if policy else None
        policy = policy or Policy(resource=resource)
        policy.min_approvals = spec.min_approvals
        policy.max_duration_seconds = _seconds(spec.max_duration)
        policy.access_levels = list(dict.fromkeys(spec.access_levels))
        policy.default_access_level = spec.default_access_level
        policy.updated_at = timezone.now()
        policy.save()
        _relations_set(policy=policy, spec=spec)
        after = policy_document(policy)
        audit_event_record(
            actor=actor,
            action=PolicyAction.POLICY_UPDATED if before else PolicyAction.POLICY_CREATED,
            resource=resource.name,
            payload={"before": before, "after": after},
        )
    return policy, before is None


def incident_declare(*, actor: User | None, reason: str) -> Incident:
    """Open an incident: auto-approval rules flagged ``only_during_incident`` apply until
    it is resolved. Only one incident is open at a time."""
    if not reason.strip():
        raise ValidationError({"reason": ["say why an incident is declared"]})
    with transaction.atomic():
        if Incident.objects.select_for_update().filter(resolved_at__isnull=True).exists():
            raise ValidationError("an incident is already open")
        incident = Incident.objects.create(reason=reason, declared_by=actor)
        audit_event_record(
            actor=actor,
            action=PolicyAction.INCIDENT_DECLARED,
            payload={"incident": incident.pk, "reason": reason},
        )
    return incident


def incident_resolve(*, actor: User | None, reason: str = "") -> Incident | None:
    """Close the open incident (None, and nothing recorded, if none is open)."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(resolved_at__isnull=True).first()
        if incident is None:
            return None
        incident.resolved_at = timezone.now()
        incident.resolved_by = actor
        incident.save(update_fields=["resolved_at", "resolved_by"])
        audit_event_record(
            actor=actor,
            action=PolicyAction.INCIDENT_RESOLVED,
            payload={"incident": incident.pk, "reason": reason},
        )
    return incident


def policy_document(policy: Policy) -> dict[str, Any]:
    """The policy as plain data (for audit payloads): names, never database ids."""
    return {
        "resource": policy.resource.name,
        "requester_groups": sorted(g.name for g in policy.requester_groups.all()),
        "requester_service_accounts": sorted(
            u.get_username() for u in policy.requester_service_accounts.all()
        ),
        "approver_groups": sorted(g.name for g in policy.approver_groups.all()),
        "min_approvals": policy.min_approvals,
        "max_duration_seconds": policy.max_duration_seconds,
        "access_levels": list(policy.access_levels),
        "default_access_level": policy.default_access_level,
        "auto_approvals": [policy_rule_document(rule) for rule in policy.auto_approvals.all()],
    }


def policy_rule_document(rule: AutoApprovalRule) -> dict[str, Any]:
    """One auto-approval rule as plain data (for audit payloads)."""
    return {
        "subject": rule.subject,
        "max_duration_seconds": rule.max_duration_seconds,
        "access_level": rule.access_level,
        "only_during_incident": rule.only_during_incident,
        "scope": rule.scope,
    }


def _relations_set(*, policy: Policy, spec: PolicySpec) -> None:
    policy.requester_groups.set(_groups(spec.requester_groups))
    policy.requester_service_accounts.set(spec.requester_service_accounts)
    policy.approver_groups.set(_groups(spec.approver_groups))
    policy.auto_approvals.all().delete()
    for rule in spec.auto_approvals:
        AutoApprovalRule.objects.create(
            policy=policy,
            group=_groups([rule.group])[0] if rule.group else None,
            service_account=rule.service_account,
            max_duration_seconds=_seconds(rule.max_duration),
            access_level=rule.access_level,
            only_during_incident=rule.only_during_incident,
            scope=rule.scope,
        )


def _groups(names: Sequence[str]) -> list[Group]:
    return [Group.objects.get_or_create(name=name)[0] for name in dict.fromkeys(names)]


def _seconds(duration: timedelta) -> int:
    return int(duration.total_seconds())


def _validate(*, resource: Resource, spec: PolicySpec) -> None:
    errors: dict[str, list[str]] = {}
    if spec.min_approvals < 1:
        errors["min_approvals"] = ["at least one approval is required"]
    if spec.max_duration < timedelta(seconds=1):
        errors["max_duration"] = ["must be at least one second"]
    errors.update(_level_errors(resource=resource, spec=spec))
    for account in spec.requester_service_accounts:
        if not account.is_service_account:
            errors.setdefault("requester_service_accounts", []).append(
                f"{account.get_username()!r} is not a service account (use a group for people)"
            )
    for index, rule in enumerate(spec.auto_approvals):
        problems = _rule_errors(rule=rule, spec=spec)
        if problems:
            errors[f"auto_approvals[{index}]"] = problems
    if errors:
        raise ValidationError(errors)


def _level_errors(*, resource: Resource, spec: PolicySpec) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    defined = resource_access_level_names(resource=resource)
    unknown = sorted(set(spec.access_levels) - defined) if defined is not None else []
    if unknown:
        errors["access_levels"] = [f"{resource.name} defines no access level {unknown[0]!r}"]
    if spec.default_access_level != "" and spec.default_access_level not in spec.access_levels:
        errors["default_access_level"] = ["must be one of access_levels"]
    if spec.access_levels and spec.default_access_level == "":
        errors["default_access_level"] = ["required when access_levels are given"]
    return errors


def _rule_errors(*, rule: AutoApprovalRuleSpec, spec: PolicySpec) -> list[str]:
    problems = []
    if bool(rule.group) == (rule.service_account is not None):
        problems.append("name exactly one of a group and a service account")
    if rule.service_account is not None and not rule.service_account.is_service_account:
        problems.append(f"{rule.service_account.get_username()!r} is not a service account")
    if not timedelta(seconds=1) <= rule.max_duration <= spec.max_duration:
        problems.append("max_duration must be between one second and the policy's maximum")
    if rule.access_level and rule.access_level not in spec.access_levels:
        problems.append(f"access level {rule.access_level!r} is not allowed by the policy")
    if rule.scope not in AutoApprovalRule.Scope.values:
        problems.append(f"scope must be one of {AutoApprovalRule.Scope.values}")
    return problems

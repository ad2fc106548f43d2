"""Writes for guardrail policies, through the scoped rules' (``scoped_rules.services``): a
policy decides what agents let through, so every change bumps the config revision (its
agents fetch a new snapshot after commit) and writes its audit event, with the policy before
and after, in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from controlplane.guardrails.actions import GuardrailAction
from controlplane.guardrails.models import GuardrailPolicy
from controlplane.identities.models import User
from controlplane.scoped_rules.services import (
    ScopedRuleKind,
    ScopedRuleSpec,
    hold_timeout_errors,
    scoped_rule_create,
    scoped_rule_delete,
    scoped_rule_set,
    scoped_rule_update,
)
from dataplane.guardrails.document import policy_from_document


@dataclass(frozen=True)
class GuardrailPolicySpec(ScopedRuleSpec):
    """Everything a guardrail policy says but its name; the services store it whole."""

    policy: Mapping[str, Any] = field(default_factory=dict)  # a guardrail policy document
    hold_timeout_s: int = 300


def _document_errors(spec: GuardrailPolicySpec) -> dict[str, list[str]]:
    """Refuse a spec the agents could not use. The document is read by the same code the
    agent runs (policy_from_document): a policy stored here is one every agent can read,
    and a document that cannot be read never becomes a weaker policy."""
    errors = hold_timeout_errors(spec.hold_timeout_s)
    policy_error = guardrail_document_error(spec.policy)
    if policy_error:
        errors["policy"] = [policy_error]
    return errors


GUARDRAIL_POLICIES = ScopedRuleKind(
    model=GuardrailPolicy,
    spec=GuardrailPolicySpec,
    noun="guardrail policy",
    created=GuardrailAction.GUARDRAIL_POLICY_CREATED,
    updated=GuardrailAction.GUARDRAIL_POLICY_UPDATED,
    deleted=GuardrailAction.GUARDRAIL_POLICY_DELETED,
    own_fields=("hold_timeout_s", "policy"),
    own_errors=_document_errors,
    in_snapshots=True,
)


def guardrail_policy_create(
    *, actor: User | None, name: str, spec: GuardrailPolicySpec
) -> GuardrailPolicy:
    """Create the guardrail policy ``name``; a ValidationError if the name is taken."""
    return scoped_rule_create(kind=GUARDRAIL_POLICIES, actor=actor, name=name, spec=spec)


def guardrail_policy_update(
    *, actor: User | None, policy: GuardrailPolicy, spec: GuardrailPolicySpec
) -> GuardrailPolicy:
    """Replace everything ``policy`` says (but its name) with ``spec``."""
    return scoped_rule_update(kind=GUARDRAIL_POLICIES, actor=actor, rule=policy, spec=spec)


def guardrail_policy_set(
    *, actor: User | None, name: str, spec: GuardrailPolicySpec
) -> tuple[GuardrailPolicy, bool]:
    """Create the policy ``name`` or replace it whole; returns it and whether it is new."""
    return scoped_rule_set(kind=GUARDRAIL_POLICIES, actor=actor, name=name, spec=spec)


def guardrail_policy_delete(*, actor: User | None, policy: GuardrailPolicy) -> None:
    """Delete ``policy``; the grants it judged are resolved again (maybe unguarded now)."""
    scoped_rule_delete(kind=GUARDRAIL_POLICIES, actor=actor, rule=policy)


def guardrail_document_error(document: object) -> str:
    """Why ``document`` is not a guardrail policy document the agents can read ("" if it is)."""
    if not isinstance(document, Mapping):
        return "must be a JSON object (a guardrail policy document)"
    try:
        policy_from_document(dict(document))
    except Exception as error:  # any failure to read it refuses it (fail closed)
        return str(error) or type(error).__name__
    return ""

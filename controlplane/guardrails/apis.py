"""Guardrail policy API (administrators write; administrators and auditors read: the scoped
rules' API) and the statement hold API (approvers and administrators read and decide; the
services check the approver role of each hold's resource: the held work API)."""

from __future__ import annotations

from controlplane.guardrails.holds import statement_hold_approve, statement_hold_deny
from controlplane.guardrails.selectors import statement_holds_visible_to
from controlplane.guardrails.serializers import GuardrailPolicySerializer, StatementHoldSerializer
from controlplane.guardrails.services import GUARDRAIL_POLICIES
from controlplane.policies.hold_apis import HoldDecisionApi, HoldListApi
from controlplane.scoped_rules.apis import ScopedRuleDetailApi, ScopedRuleListCreateApi


class GuardrailPolicies:
    kind = GUARDRAIL_POLICIES
    serializer = GuardrailPolicySerializer
    operations = "guardrail_policies"


class GuardrailPolicyListCreateApi(GuardrailPolicies, ScopedRuleListCreateApi):
    pass


class GuardrailPolicyDetailApi(GuardrailPolicies, ScopedRuleDetailApi):
    pass


class StatementHolds:
    serializer = StatementHoldSerializer
    visible_to = staticmethod(statement_holds_visible_to)
    operations = "statement_holds"
    noun = "held statement"


class StatementHoldListApi(StatementHolds, HoldListApi):
    pass


class StatementHoldApproveApi(StatementHolds, HoldDecisionApi):
    decision = "approve"
    decide = staticmethod(statement_hold_approve)


class StatementHoldDenyApi(StatementHolds, HoldDecisionApi):
    decision = "deny"
    decide = staticmethod(statement_hold_deny)

"""Audit actions recorded by the guardrails app (the agent's own guardrail verdicts are
``dataplane.contract.Action.GUARDRAIL_*``, sent as agent events)."""

from enum import StrEnum


class GuardrailAction(StrEnum):
    GUARDRAIL_POLICY_CREATED = "guardrail_policy.created"
    GUARDRAIL_POLICY_UPDATED = "guardrail_policy.updated"
    GUARDRAIL_POLICY_DELETED = "guardrail_policy.deleted"
    # A person decided a held statement (who and when are the event's actor and time).
    HOLD_APPROVED = "guardrail.hold_approved"
    HOLD_DENIED = "guardrail.hold_denied"
    # Housekeeping: nobody decided before the hold's deadline.
    HOLD_EXPIRED = "guardrail.hold_expired"

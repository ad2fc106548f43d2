"""Audit actions recorded by the policies app (kept beside the app until the audit app's
``ControlPlaneAction`` takes them over)."""

from enum import StrEnum


class PolicyAction(StrEnum):
    POLICY_CREATED = "policy.created"
    POLICY_UPDATED = "policy.updated"
    INCIDENT_DECLARED = "incident.declared"
    INCIDENT_RESOLVED = "incident.resolved"

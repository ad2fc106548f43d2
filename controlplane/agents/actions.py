"""Audit actions of the agents app added after ``controlplane.audit.actions`` (kept beside
the app, like ``access.actions``; the audit API filters on the string either way)."""

from enum import StrEnum


class AgentAction(StrEnum):
    AGENT_TOKEN_ROTATED = "agent.token_rotated"
    AGENT_TOKEN_REVOKED = "agent.token_revoked"

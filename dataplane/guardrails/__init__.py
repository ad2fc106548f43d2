"""Guardrails: allow, deny or hold a SQL statement before it reaches PostgreSQL.

A pure library (no asyncio, no Django): the agent judges statements with it, and the control
plane's policy simulation replays the audit log through it. Statements are understood by
PostgreSQL's own parser (pglast / libpg_query), never by patterns over SQL text.
"""

from dataplane.guardrails.document import policy_from_document, policy_to_document
from dataplane.guardrails.engine import FactsCache, Guardrails, Verdict
from dataplane.guardrails.facts import FunctionName, RelationName, StatementFacts
from dataplane.guardrails.rules import (
    Decision,
    DeniedFunctions,
    DenyStatements,
    GuardrailPolicy,
    ReadOnly,
    RelationAccess,
    RelationPattern,
    Rule,
    WhereRequired,
)

__all__ = [
    "Decision",
    "DeniedFunctions",
    "DenyStatements",
    "FactsCache",
    "FunctionName",
    "GuardrailPolicy",
    "Guardrails",
    "ReadOnly",
    "RelationAccess",
    "RelationName",
    "RelationPattern",
    "Rule",
    "StatementFacts",
    "Verdict",
    "WhereRequired",
    "policy_from_document",
    "policy_to_document",
]

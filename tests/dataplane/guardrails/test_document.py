"""Policy documents: versioned, read back equal, and refused loudly when wrong."""

from __future__ import annotations

import json

import pytest

from dataplane.guardrails import Decision, Guardrails
from dataplane.guardrails.document import policy_from_document, policy_to_document
from tests.dataplane.guardrails.corpus import POLICIES

DOCUMENT = {
    "format_version": 1,
    "unparseable": "hold",
    "max_rows": 10000,
    "trusted_procedures": ["refresh_totals"],
    "rules": [
        {"kind": "deny_statements", "name": "no-drop", "classes": ["drop", "truncate"]},
        {
            "kind": "deny_statements",
            "name": "no-role",
            "classes": ["set_parameter"],
            "parameters": ["Role"],
        },
        {"kind": "read_only", "name": "writes-need-approval", "verdict": "hold"},
        {"kind": "where_required", "name": "where"},
        {"kind": "relation_access", "name": "no-hr", "deny": ["HR.*"], "search_path": ["public"]},
        {"kind": "denied_functions", "name": "fs", "functions": ["pg_read_file", "lo_*"]},
    ],
}


def test_a_policy_document_is_read_into_rules_that_judge() -> None:
    policy = policy_from_document(DOCUMENT)
    judge = Guardrails(policy)
    assert judge.judge("TRUNCATE t").rule == "no-drop"
    assert judge.judge("SET ROLE admin").rule == "no-role"
    assert judge.judge("UPDATE t SET a = 1 WHERE id = 1").decision is Decision.HOLD
    assert judge.judge("SELECT * FROM hr.salaries").rule == "no-hr"
    assert judge.judge("DO $$ BEGIN END $$").decision is Decision.HOLD
    assert judge.judge("CALL refresh_totals()").decision is Decision.HOLD  # CALL is a write
    assert judge.judge("SELECT 1").max_rows == 10000


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_corpus_policy_survives_a_json_round_trip(name: str) -> None:
    document = json.loads(json.dumps(policy_to_document(POLICIES[name])))
    assert policy_from_document(document) == POLICIES[name]


def test_quoted_relation_patterns_round_trip() -> None:
    document = {**DOCUMENT, "rules": [{"kind": "relation_access", "name": "q", "deny": ['"A.b"']}]}
    policy = policy_from_document(document)
    assert policy_from_document(policy_to_document(policy)) == policy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "format_version"),
        ({"rules": [{"kind": "regex", "name": "x"}]}, "kind 'regex' is unknown"),
        ({"rules": [{"kind": "read_only", "name": "x", "tables": []}]}, "unknown keys"),
        ({"rules": [{"kind": "read_only", "name": "x", "verdict": "allow"}]}, "deny or hold"),
        ({"rules": [{"kind": "deny_statements", "name": "x", "classes": ["dorp"]}]}, "dorp"),
        ({"max_row": 5}, "unknown keys"),
        ({"unparseable": "maybe"}, "maybe"),
    ],
)
def test_a_wrong_document_is_refused_with_a_reason(change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        policy_from_document({**DOCUMENT, **change})

"""Rules read facts; policies validate themselves when built."""

from __future__ import annotations

import pytest

from dataplane.guardrails import (
    Decision,
    DeniedFunctions,
    DenyStatements,
    GuardrailPolicy,
    ReadOnly,
    RelationAccess,
    RelationPattern,
)
from dataplane.guardrails.extract import extract_facts
from dataplane.guardrails.facts import StatementFacts


def _facts(sql: str) -> StatementFacts:
    (facts,) = extract_facts(sql)
    return facts


def test_a_rule_verdict_is_deny_or_hold_never_allow() -> None:
    with pytest.raises(ValueError, match="deny or hold"):
        ReadOnly("ro", verdict=Decision.ALLOW)


def test_unknown_statement_classes_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown statement classes"):
        DenyStatements("x", frozenset({"dropp"}))


def test_rule_names_in_a_policy_are_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        GuardrailPolicy(rules=(ReadOnly("a"), DeniedFunctions("a")))


def test_relation_patterns_fold_like_sql_identifiers() -> None:
    assert RelationPattern.parse("Orders") == RelationPattern(None, "orders")
    assert RelationPattern.parse("HR.*") == RelationPattern("hr", "*")
    assert RelationPattern.parse('"Sales"."Q.1"') == RelationPattern("Sales", "Q.1")
    with pytest.raises(ValueError):
        RelationPattern.parse("a.b.c")
    with pytest.raises(ValueError):
        RelationPattern.parse('"open')


def test_set_parameter_rule_matches_only_its_parameters_unless_unknown() -> None:
    rule = DenyStatements("no-role", frozenset({"set_parameter"}), frozenset({"role"}))
    assert rule.violation(_facts("SET ROLE admin")) == "SET role"
    assert rule.violation(_facts("SET work_mem = '64MB'")) is None
    assert rule.violation(_facts("RESET ALL")) == "RESET ALL"
    assert rule.violation(_facts("SELECT set_config(n, 'x', false) FROM p")) is not None


def test_deny_list_with_a_schema_matches_unqualified_names_in_any_schema() -> None:
    rule = RelationAccess("no-hr", deny=(RelationPattern.parse("hr.salaries"),))
    assert rule.violation(_facts("SELECT * FROM salaries")) == "access to salaries"
    assert rule.violation(_facts("SELECT * FROM public.salaries")) is None


def test_a_pinned_search_path_resolves_unqualified_names_and_guards_itself() -> None:
    rule = RelationAccess("no-hr", deny=(RelationPattern.parse("hr.*"),), search_path=("public",))
    assert rule.violation(_facts("SELECT * FROM salaries")) is None
    assert rule.violation(_facts("SELECT * FROM hr.salaries")) == "access to hr.salaries"
    assert rule.violation(_facts("SET search_path = hr")) == "a change of search_path"
    assert rule.violation(_facts("SELECT set_config('search_path', 'hr', true)")) is not None


def test_allow_list_refuses_what_it_does_not_name() -> None:
    rule = RelationAccess(
        "reporting-only",
        allow=(RelationPattern.parse("reporting.*"), RelationPattern.parse("pg_catalog.*")),
        search_path=("reporting",),
    )
    assert rule.violation(_facts("SELECT * FROM daily JOIN reporting.weekly USING (day)")) is None
    assert rule.violation(_facts("SELECT * FROM pg_class")) is None
    refused = rule.violation(_facts("SELECT * FROM public.users"))
    assert refused == "access to public.users (not in the allowed list)"


def test_allow_list_without_a_search_path_refuses_unqualified_names_it_cannot_place() -> None:
    rule = RelationAccess("reporting-only", allow=(RelationPattern.parse("reporting.*"),))
    assert rule.violation(_facts("SELECT * FROM daily")) is not None
    anywhere = RelationAccess("orders-anywhere", allow=(RelationPattern.parse("orders"),))
    assert anywhere.violation(_facts("SELECT * FROM orders")) is None


def test_denied_functions_match_prefixes_and_any_schema() -> None:
    rule = DeniedFunctions("fs", functions=("pg_read_file", "dblink*"))
    assert rule.violation(_facts("SELECT x.dblink_connect('c')")) == "a call of x.dblink_connect()"
    assert rule.violation(_facts("SELECT pg_read_binary_file('f')")) is None
    assert DeniedFunctions("default").violation(_facts("SELECT pg_ls_waldir()")) is not None


def test_read_only_treats_every_call_as_a_write() -> None:
    assert ReadOnly("ro").violation(_facts("CALL report.refresh()")) == "CALL report.refresh"

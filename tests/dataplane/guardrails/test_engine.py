"""The engine: strongest verdict wins, reasons fit for a client, cached facts, fail closed."""

from __future__ import annotations

import pytest

from dataplane.guardrails import (
    Decision,
    DeniedFunctions,
    DenyStatements,
    FactsCache,
    GuardrailPolicy,
    Guardrails,
    ReadOnly,
    WhereRequired,
)
from dataplane.guardrails import engine as engine_module
from dataplane.guardrails.facts import StatementFacts

NO_DROP = DenyStatements("no-drop", frozenset({"drop"}))
HOLD_WRITES = ReadOnly("writes-need-approval", verdict=Decision.HOLD)


def test_an_allowed_statement_carries_the_row_cap() -> None:
    verdict = Guardrails(GuardrailPolicy(rules=(NO_DROP,), max_rows=1000)).judge("SELECT 1")
    assert verdict.allowed and verdict.rule is None and verdict.max_rows == 1000


def test_a_deny_names_the_rule_and_what_it_refused() -> None:
    verdict = Guardrails(GuardrailPolicy(rules=(NO_DROP,))).judge("DROP TABLE orders")
    assert verdict.decision is Decision.DENY
    assert verdict.rule == "no-drop"
    assert verdict.reason == 'guardrail "no-drop" denies DROP TABLE'
    assert verdict.statement_index == 0


def test_one_deny_denies_a_whole_multi_statement_text() -> None:
    judge = Guardrails(GuardrailPolicy(rules=(NO_DROP,)))
    verdict = judge.judge("SELECT 1; SELECT 2; DROP TABLE t; SELECT 3")
    assert verdict.decision is Decision.DENY and verdict.statement_index == 2


def test_deny_beats_hold_whatever_the_order() -> None:
    judge = Guardrails(GuardrailPolicy(rules=(HOLD_WRITES, NO_DROP)))
    assert judge.judge("UPDATE t SET a = 1 WHERE id = 1").decision is Decision.HOLD
    held_then_dropped = judge.judge("UPDATE t SET a = 1 WHERE id = 1; DROP TABLE t")
    assert held_then_dropped.decision is Decision.DENY
    assert held_then_dropped.rule == "no-drop"
    assert judge.judge("DROP TABLE t").rule == "no-drop"  # a DROP is also a write: deny wins


def test_a_held_statement_says_it_waits_for_approval() -> None:
    verdict = Guardrails(GuardrailPolicy(rules=(HOLD_WRITES,))).judge("DELETE FROM t WHERE id=1")
    assert verdict.reason == 'guardrail "writes-need-approval" holds for approval DELETE FROM t'


@pytest.mark.parametrize(
    ("choice", "expected"),
    [(d, d) for d in (Decision.DENY, Decision.HOLD, Decision.ALLOW)],
)
def test_what_the_rules_cannot_judge_follows_the_policy_choice(
    choice: Decision, expected: Decision
) -> None:
    judge = Guardrails(GuardrailPolicy(unparseable=choice))
    for sql in ("SELEC 1", "DO $$ BEGIN NULL; END $$", "EXECUTE p", "CALL p()"):
        verdict = judge.judge(sql)
        assert verdict.decision is expected, sql
        if expected is not Decision.ALLOW:
            assert verdict.rule == "unparseable" and "cannot judge" in verdict.reason


def test_unparseable_is_denied_by_default() -> None:
    verdict = Guardrails(GuardrailPolicy()).judge("SELECT 'oops")
    assert verdict.decision is Decision.DENY
    assert "does not parse" in verdict.reason


def test_the_rules_still_apply_when_the_policy_allows_what_it_cannot_judge() -> None:
    judge = Guardrails(GuardrailPolicy(rules=(DeniedFunctions("fs"),), unparseable=Decision.ALLOW))
    assert judge.judge("CALL p(pg_read_file('/etc/passwd'))").rule == "fs"


def test_trusted_procedures_are_judged_by_their_arguments_only() -> None:
    policy = GuardrailPolicy(trusted_procedures=frozenset({"refresh_totals"}))
    assert Guardrails(policy).judge("CALL reporting.refresh_totals()").allowed
    assert not Guardrails(policy).judge("CALL other()").allowed


def test_judging_the_same_text_again_does_not_parse_again() -> None:
    cache = FactsCache()
    judge = Guardrails(GuardrailPolicy(rules=(NO_DROP,)), cache)
    for _ in range(3):
        judge.judge("SELECT abalance FROM pgbench_accounts WHERE aid = 1")
    assert cache.parses == 1


def test_a_new_policy_reuses_the_cached_facts() -> None:
    cache = FactsCache()
    sql = "DELETE FROM t"
    assert Guardrails(GuardrailPolicy(), cache).judge(sql).allowed
    stricter = Guardrails(GuardrailPolicy(rules=(WhereRequired("where"),)), cache)
    assert stricter.judge(sql).rule == "where"
    assert cache.parses == 1


def test_the_cache_is_bounded_and_forgets_the_least_recently_used() -> None:
    cache = FactsCache(capacity=2)
    cache.facts("SELECT 1")
    cache.facts("SELECT 2")
    cache.facts("SELECT 1")  # now the most recent
    cache.facts("SELECT 3")  # evicts SELECT 2
    assert len(cache) == 2
    cache.facts("SELECT 1")
    assert cache.parses == 3
    cache.facts("SELECT 2")
    assert cache.parses == 4


def test_an_exception_inside_the_engine_denies(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(sql: str) -> tuple[StatementFacts, ...]:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine_module, "extract_facts", explode)
    verdict = Guardrails(GuardrailPolicy()).judge("SELECT 1")
    assert verdict.decision is Decision.DENY
    assert verdict.rule == "engine-failure" and "RuntimeError" in verdict.reason


def test_an_exception_inside_a_rule_denies() -> None:
    class BrokenRule:
        name = "broken"
        verdict = Decision.DENY

        def violation(self, facts: StatementFacts) -> str | None:
            raise KeyError(facts.command)

    policy = GuardrailPolicy(rules=(BrokenRule(),))  # type: ignore[arg-type]
    assert Guardrails(policy).judge("SELECT 1").decision is Decision.DENY


def test_empty_text_is_allowed() -> None:
    assert Guardrails(GuardrailPolicy()).judge("").allowed


def test_judge_facts_replays_stored_facts_without_the_text() -> None:
    facts = FactsCache().facts("TRUNCATE t")
    verdict = Guardrails(GuardrailPolicy(rules=(DenyStatements("t", frozenset({"truncate"})),)))
    assert verdict.judge_facts(facts).rule == "t"


def test_an_engine_remembers_its_verdicts_within_the_cache_bound() -> None:
    cache = FactsCache(capacity=2)
    judge = Guardrails(GuardrailPolicy(rules=(NO_DROP,)), cache)
    first = judge.judge("DROP TABLE t")
    assert judge.judge("DROP TABLE t") is first
    for sql in ("SELECT 1", "SELECT 2", "SELECT 3"):
        judge.judge(sql)
    assert judge.judge("DROP TABLE t") is not first  # forgotten, judged afresh
    assert judge.judge("DROP TABLE t") == first


def test_escape_sensitive_text_cannot_be_judged_when_the_session_reads_backslashes() -> None:
    # With standard_conforming_strings off the server reads this as SELECT ... ; DROP TABLE t
    sql = "SELECT '\\', 'x; DROP TABLE t; --'"
    judge = Guardrails(GuardrailPolicy(rules=(NO_DROP,)))
    assert judge.judge(sql).allowed
    off = judge.judge(sql, standard_conforming_strings=False)
    assert off.decision is Decision.DENY and "standard_conforming_strings" in off.reason
    assert judge.judge("SELECT 'plain'", standard_conforming_strings=False).allowed


def test_long_texts_are_judged_but_not_remembered() -> None:
    cache = FactsCache(max_text_chars=100)
    judge = Guardrails(GuardrailPolicy(rules=(NO_DROP,)), cache)
    bulk = "INSERT INTO t VALUES " + ", ".join(f"({i})" for i in range(100))
    assert judge.judge(bulk).allowed and judge.judge(bulk).allowed
    assert cache.parses == 2 and len(cache) == 0


def test_execute_is_judged_by_the_prepared_text_the_session_showed() -> None:
    judge = Guardrails(GuardrailPolicy(rules=(WhereRequired("where"),)))
    prepared = {"purge": "PREPARE purge AS DELETE FROM t", "one": "SELECT * FROM t WHERE id = $1"}
    purge = judge.judge("SELECT 1; EXECUTE purge", prepared=prepared)
    assert purge.rule == "where" and purge.statement_index == 1
    assert judge.judge("EXECUTE one(1)", prepared=prepared).allowed
    unknown = judge.judge("EXECUTE other", prepared=prepared)
    assert unknown.rule == "unparseable" and "other" in unknown.reason
    assert judge.judge("EXECUTE one(1)").rule == "unparseable"  # no session map: unknown

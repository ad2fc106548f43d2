"""Whatever text arrives, the engine answers with a verdict and never raises."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dataplane.guardrails import Decision, Guardrails, Verdict
from tests.dataplane.guardrails.corpus import POLICIES

TOKENS = [
    "SELECT", "DELETE", "FROM", "WHERE", "WITH", "AS", "(", ")", ";", ",", "'", '"', "$$",
    "--", "/*", "*/", "\\", "U&", "E'", "pg_read_file", "secrets", "t", "1", "=", "DROP",
    "TABLE", "COPY", "TO", "PROGRAM", "DO", "EXECUTE", "PREPARE", "x", "EXPLAIN", "ANALYZE",
]  # fmt: skip

sql_like = st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join)
judge = Guardrails(POLICIES["read-only"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(sql_like, st.text(max_size=200)))
def test_any_text_gets_a_verdict(sql: str) -> None:
    verdict = judge.judge(sql)
    assert isinstance(verdict, Verdict)
    assert verdict.rule != "engine-failure", verdict.reason
    if verdict.decision is not Decision.ALLOW:
        assert verdict.reason

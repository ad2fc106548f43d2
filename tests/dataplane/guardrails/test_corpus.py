"""Every dangerous statement is refused under its policy; every benign one passes untouched."""

from __future__ import annotations

import pytest

from dataplane.guardrails import Decision, Guardrails
from tests.dataplane.guardrails.corpus import POLICIES, CorpusCase, load

DANGEROUS = load("dangerous")
BENIGN = load("benign")


def _judge(case: CorpusCase) -> tuple[Decision, str]:
    verdict = Guardrails(POLICIES[case.policy]).judge(case.sql)
    return verdict.decision, verdict.reason


@pytest.mark.parametrize("case", DANGEROUS, ids=[c.id for c in DANGEROUS])
def test_dangerous_statement_is_refused_under_its_policy(case: CorpusCase) -> None:
    decision, reason = _judge(case)
    assert decision == Decision(case.expect), reason
    assert reason, "a refusal must say why"


@pytest.mark.parametrize("case", BENIGN, ids=[c.id for c in BENIGN])
def test_benign_statement_passes_untouched(case: CorpusCase) -> None:
    decision, reason = _judge(case)
    assert decision is Decision.ALLOW, reason


def test_benign_corpus_passes_under_the_read_only_policy_where_it_only_reads() -> None:
    readers = [c for c in BENIGN if c.policy == "read-only"]
    judge = Guardrails(POLICIES["read-only"])
    refused = {c.id: judge.judge(c.sql).reason for c in readers if not judge.judge(c.sql).allowed}
    assert refused == {}


def test_corpora_are_large_and_their_ids_unique() -> None:
    ids = [c.id for c in DANGEROUS + BENIGN]
    assert len(ids) == len(set(ids))
    assert len(DANGEROUS) >= 100 and len(BENIGN) >= 40
    assert all(c.sql.strip() or c.id == "empty-text" for c in DANGEROUS + BENIGN)

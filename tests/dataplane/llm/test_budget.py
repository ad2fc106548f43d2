"""BudgetBook: calls, tokens and requests per minute per identity and resource."""

from dataplane.contract.snapshot import HttpSettings
from dataplane.llm import BudgetBook

HOUR = 3600


def settings(**limits: int) -> HttpSettings:
    return HttpSettings(llm_api="openai", **limits)  # type: ignore[arg-type]


def test_unlimited_settings_never_refuse() -> None:
    book = BudgetBook()
    for n in range(1000):
        assert book.check("ai", "llm", settings(), float(n)) is None
        book.record("ai", "llm", settings(), 10_000, float(n))


def test_the_call_budget_refuses_the_call_past_it_until_the_window_slides() -> None:
    book, limits = BudgetBook(), settings(budget_calls=2, budget_window_s=HOUR)
    for now in (0.0, 10.0):
        assert book.check("ai", "llm", limits, now) is None
        book.record("ai", "llm", limits, 5, now)
    refusal = book.check("ai", "llm", limits, 20.0)
    assert refusal is not None
    assert (refusal.status, refusal.kind, refusal.refused_by) == (
        429,
        "insufficient_quota",
        "budget",
    )
    assert refusal.retry_after_s == HOUR - 20.0  # the call at 0 leaves the window then
    assert book.check("ai", "llm", limits, HOUR + 0.5) is None


def test_the_token_budget_counts_recorded_usage_and_lets_a_call_in_flight_finish() -> None:
    book, limits = BudgetBook(), settings(budget_tokens=100, budget_window_s=HOUR)
    assert book.check("ai", "llm", limits, 0.0) is None
    assert book.check("ai", "llm", limits, 1.0) is None  # both in flight: 0 tokens yet
    book.record("ai", "llm", limits, 70, 2.0)
    book.record("ai", "llm", limits, 70, 3.0)  # the second takes it over 100
    refusal = book.check("ai", "llm", limits, 4.0)
    assert refusal is not None and refusal.kind == "insufficient_quota"
    assert "100 tokens" in refusal.message
    assert refusal.retry_after_s == HOUR + 2.0 - 4.0  # 70 left once the first is out
    assert book.check("ai", "llm", limits, HOUR + 2.0) is None


def test_the_rate_limit_counts_admitted_requests_per_minute() -> None:
    book, limits = BudgetBook(), settings(rate_limit_per_minute=3)
    for now in (0.0, 1.0, 2.0):
        assert book.check("ai", "llm", limits, now) is None  # none recorded: still counted
    refusal = book.check("ai", "llm", limits, 3.0)
    assert refusal is not None
    assert (refusal.kind, refusal.refused_by, refusal.retry_after_s) == (
        "rate_limit_error",
        "rate_limit",
        57.0,
    )
    assert book.check("ai", "llm", limits, 60.5) is None


def test_identities_and_resources_have_their_own_ledgers() -> None:
    book, limits = BudgetBook(), settings(budget_calls=1)
    book.record("ai", "llm", limits, 1, 0.0)
    assert book.check("ai", "llm", limits, 1.0) is not None
    assert book.check("alice", "llm", limits, 1.0) is None
    assert book.check("ai", "other-llm", limits, 1.0) is None

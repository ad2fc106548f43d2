"""Per-identity call budgets, token budgets and rate limits on an llm (or http) resource.

Counted in memory, per agent, per (identity, resource), over sliding windows: a budget of
N calls per hour admits a call when fewer than N calls were recorded in the hour before
it. Tokens are known only once a call has finished, so a call is admitted when the tokens
recorded so far are under the budget (the call in flight may take it over; the next one
is then refused). The rate limit counts calls as they are admitted, so a burst of
concurrent requests cannot slip past it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from dataplane.contract.snapshot import HttpSettings

RATE_WINDOW_S = 60.0


@dataclass(frozen=True)
class BudgetRefusal:
    """Why a call is refused: answer ``status`` with ``message`` (llm_error_body's kind) and
    a Retry-After of ``retry_after_s``. ``refused_by`` is the HttpExchange's: "budget" or
    "rate_limit"."""

    status: int
    message: str
    kind: str
    retry_after_s: float
    refused_by: str


@dataclass
class _Ledger:
    """One identity's recent use of one resource, oldest first."""

    calls: deque[tuple[float, int]] = field(default_factory=deque)  # (finished at, tokens)
    tokens: int = 0  # the sum over `calls`
    admitted: deque[float] = field(default_factory=deque)  # rate-limit admissions

    def forget_before(self, calls_since: float, admitted_since: float) -> None:
        while self.calls and self.calls[0][0] <= calls_since:
            self.tokens -= self.calls.popleft()[1]
        while self.admitted and self.admitted[0] <= admitted_since:
            self.admitted.popleft()

    @property
    def idle(self) -> bool:
        return not self.calls and not self.admitted


class BudgetBook:
    """The ledgers of one agent; ``check`` before a call, ``record`` after it."""

    def __init__(self) -> None:
        self._ledgers: dict[tuple[str, str], _Ledger] = {}

    def check(
        self, identity: str, resource: str, settings: HttpSettings, now: float
    ) -> BudgetRefusal | None:
        """None to let the call through (counted against the rate limit), else the refusal."""
        if not _limited(settings):
            return None
        ledger = self._ledger(identity, resource, settings, now)
        refusal = (
            _over_calls(ledger, settings, now)
            or _over_tokens(ledger, settings, now)
            or _over_rate(ledger, settings, now)
        )
        if refusal is None and settings.rate_limit_per_minute > 0:
            ledger.admitted.append(now)
        self._drop_if_idle(identity, resource, ledger)
        return refusal

    def record(
        self, identity: str, resource: str, settings: HttpSettings, tokens: int, now: float
    ) -> None:
        """Count one finished call and the tokens it used (input plus output)."""
        if settings.budget_calls <= 0 and settings.budget_tokens <= 0:
            return
        ledger = self._ledger(identity, resource, settings, now)
        tokens = max(0, tokens)
        ledger.calls.append((now, tokens))
        ledger.tokens += tokens

    def _ledger(self, identity: str, resource: str, settings: HttpSettings, now: float) -> _Ledger:
        ledger = self._ledgers.setdefault((identity, resource), _Ledger())
        ledger.forget_before(now - settings.budget_window_s, now - RATE_WINDOW_S)
        return ledger

    def _drop_if_idle(self, identity: str, resource: str, ledger: _Ledger) -> None:
        # Keeps memory to identities active within a window.
        if ledger.idle:
            self._ledgers.pop((identity, resource), None)


def _limited(settings: HttpSettings) -> bool:
    return (
        settings.budget_calls > 0
        or settings.budget_tokens > 0
        or settings.rate_limit_per_minute > 0
    )


def _over_calls(ledger: _Ledger, settings: HttpSettings, now: float) -> BudgetRefusal | None:
    limit = settings.budget_calls
    if limit <= 0 or len(ledger.calls) < limit:
        return None
    # Under budget again once the oldest calls beyond limit-1 have left the window.
    frees_at = ledger.calls[len(ledger.calls) - limit][0] + settings.budget_window_s
    return BudgetRefusal(
        429,
        f"call budget exceeded: {limit} calls per {settings.budget_window_s} s",
        "insufficient_quota",
        _seconds(frees_at - now),
        "budget",
    )


def _over_tokens(ledger: _Ledger, settings: HttpSettings, now: float) -> BudgetRefusal | None:
    limit = settings.budget_tokens
    if limit <= 0 or ledger.tokens < limit:
        return None
    remaining = ledger.tokens
    frees_at = now + settings.budget_window_s
    for finished_at, tokens in ledger.calls:
        remaining -= tokens
        if remaining < limit:
            frees_at = finished_at + settings.budget_window_s
            break
    return BudgetRefusal(
        429,
        f"token budget exceeded: {limit} tokens per {settings.budget_window_s} s",
        "insufficient_quota",
        _seconds(frees_at - now),
        "budget",
    )


def _over_rate(ledger: _Ledger, settings: HttpSettings, now: float) -> BudgetRefusal | None:
    limit = settings.rate_limit_per_minute
    if limit <= 0 or len(ledger.admitted) < limit:
        return None
    frees_at = ledger.admitted[len(ledger.admitted) - limit] + RATE_WINDOW_S
    return BudgetRefusal(
        429,
        f"rate limit exceeded: {limit} requests per minute",
        "rate_limit_error",
        _seconds(frees_at - now),
        "rate_limit",
    )


def _seconds(delay: float) -> float:
    return max(0.0, round(delay, 3))

"""Latency summaries shared by the benchmarks: nearest-rank percentiles, in milliseconds."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> LatencySummary:
        """Summarise samples given in seconds (nearest-rank percentiles, no interpolation)."""
        if not seconds:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan)
        ordered = sorted(s * 1000 for s in seconds)
        return cls(
            count=len(ordered),
            p50_ms=_rank(ordered, 50),
            p95_ms=_rank(ordered, 95),
            p99_ms=_rank(ordered, 99),
            max_ms=ordered[-1],
            mean_ms=sum(ordered) / len(ordered),
        )

    def row(self) -> str:
        return (
            f"{self.count:>5} {self.p50_ms:>8.1f} {self.p95_ms:>8.1f} {self.p99_ms:>8.1f} "
            f"{self.max_ms:>8.1f} {self.mean_ms:>8.1f}"
        )


HEADER = f"{'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8} {'mean':>8}"


def _rank(ordered: list[float], percent: int) -> float:
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]

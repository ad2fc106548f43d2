"""One session's statement judge: the engine, the session's prepared statements, and a
cache that makes literal-only variations of a statement cost a normalisation, not a parse.

Clients that do not prepare (psql, pgbench -M simple, most ORMs' simple paths) send the
same statement with different literals: `... WHERE aid = 17`, `... WHERE aid = 42`. Parsing
each costs ~100 µs; libpg_query's normaliser (the pg_stat_statements one, ~3 µs) turns both
into `... WHERE aid = $1`, whose facts the engine caches. The normalised text is judged
first and its verdict is used only when it ALLOWS and its facts are fully known (nothing
opaque). Every rule reads facts that are the same for both texts or stricter for the
normalised one (where.py counts a parameter as possibly always true; an unknown SET
parameter is "*"; SQL text hidden behind a parameter is opaque), so an allowed normalised
text means an allowed original. Anything else (a deny, a hold, anything opaque, a
normaliser error, standard_conforming_strings off) is judged on the exact text, so the
client's message names what it sent.
"""

from __future__ import annotations

from pglast import parser

from dataplane.guardrails.engine import FactsCache, Guardrails, Verdict


class StatementJudge:
    """Judges the statements of one session under its current policy."""

    def __init__(self, guardrails: Guardrails, cache: FactsCache) -> None:
        self.guardrails = guardrails
        self._cache = cache
        self.standard_conforming_strings = True
        self.prepared: dict[str, str] = {}  # SQL-level PREPARE name -> its text

    def judge(self, sql: str) -> Verdict:
        """The verdict on `sql`; never raises (the engine fails closed itself)."""
        if self.standard_conforming_strings:
            verdict = self._judge_normalised(sql)
            if verdict is not None:
                return verdict
        return self.guardrails.judge(
            sql,
            standard_conforming_strings=self.standard_conforming_strings,
            prepared=self.prepared or None,  # None: the engine's verdict memo applies
        )

    def _judge_normalised(self, sql: str) -> Verdict | None:
        try:
            normalised = parser.normalize(sql)
        except Exception:  # the exact text gets the real parser's verdict
            return None
        if normalised == sql or not self._cache.keeps(normalised):
            return None
        # No prepared map: its verdicts are memoised, and an EXECUTE is refused below.
        verdict = self.guardrails.judge(normalised)
        if not verdict.allowed:
            return None
        if any(facts.opaque or facts.prepared_names for facts in self._cache.facts(normalised)):
            return None
        return verdict

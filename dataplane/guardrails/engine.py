"""The guardrail engine: judge a SQL text under a policy, sans I/O.

The agent calls `judge` for every statement it sees (simple Query, Parse); the control
plane's simulation calls it over the audit log. Parsing dominates the cost, so facts are
cached by text (`FactsCache`, shared between engines): a statement seen before is judged
from its facts alone, and a new policy reuses the cache without parsing again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from dataplane.guardrails.extract import extract_facts
from dataplane.guardrails.facts import StatementFacts
from dataplane.guardrails.rules import Decision, GuardrailPolicy, Rule

UNPARSEABLE_RULE = "unparseable"
ENGINE_FAILURE_RULE = "engine-failure"
_ESCAPES = "a backslash in a '...' string reads differently with standard_conforming_strings off"


@dataclass(frozen=True)
class Verdict:
    """The engine's answer for one SQL text.

    `rule` names the rule that decided (None when allowed); `reason` is a message fit for
    the client; `statement_index` is which statement of a multi-statement text it concerns;
    `max_rows` is the policy's cap on rows returned, for the agent to enforce.
    """

    decision: Decision
    rule: str | None = None
    reason: str = ""
    statement_index: int | None = None
    max_rows: int | None = None

    @property
    def allowed(self) -> bool:
        return self.decision is Decision.ALLOW


class FactsCache:
    """A bounded LRU of statement facts keyed by the exact SQL text."""

    def __init__(self, capacity: int = 4096, max_text_chars: int = 65536) -> None:
        if capacity < 1:
            raise ValueError("the facts cache needs room for at least one text")
        self.capacity = capacity
        # Longer texts (bulk INSERTs, generated IN lists) are rarely sent twice: caching them
        # would only hold memory, so they are parsed every time.
        self.max_text_chars = max_text_chars
        self.parses = 0  # how many texts were parsed: the cache's misses
        self._entries: OrderedDict[str, tuple[StatementFacts, ...]] = OrderedDict()

    def facts(self, sql: str) -> tuple[StatementFacts, ...]:
        """Facts of `sql`, parsed once and then served from the cache."""
        entry = self._entries.get(sql)
        if entry is not None:
            self._entries.move_to_end(sql)
            return entry
        entry = extract_facts(sql)
        self.parses += 1
        if not self.keeps(sql):
            return entry
        self._entries[sql] = entry
        if len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return entry

    def keeps(self, sql: str) -> bool:
        """True if a text this long is worth remembering."""
        return len(sql) <= self.max_text_chars

    def __len__(self) -> int:
        return len(self._entries)


class Guardrails:
    """Judges SQL texts under one policy; build a new one (sharing the cache) to change it.

    The policy never changes within an engine, so its verdicts are memoised by text too
    (bounded like the cache): a statement seen before costs one dictionary lookup. Not
    thread-safe: the agent judges on its event loop; a threaded caller keeps one per thread.
    """

    def __init__(self, policy: GuardrailPolicy, cache: FactsCache | None = None) -> None:
        self.policy = policy
        self.cache = cache if cache is not None else FactsCache()
        self._verdicts: OrderedDict[str, Verdict] = OrderedDict()

    def judge(
        self,
        sql: str,
        *,
        standard_conforming_strings: bool = True,
        prepared: Mapping[str, str] | None = None,
    ) -> Verdict:
        """Allow, deny or hold `sql`; every statement is judged and the strongest verdict wins.

        `standard_conforming_strings` is the session's setting as the server last reported it
        (ParameterStatus): when off, a text the parser might read differently from the server
        cannot be judged. `prepared` maps the session's SQL-level prepared statement names to
        their texts, so `EXECUTE name` is judged by what it runs; an unknown name cannot be
        judged. Fails closed: an exception anywhere in here is a deny that says so.
        """
        try:
            if standard_conforming_strings and prepared is None:
                return self._judge(sql)
            return self.judge_facts(
                self.cache.facts(sql),
                standard_conforming_strings=standard_conforming_strings,
                prepared=prepared,
            )
        except Exception as error:
            return Verdict(
                Decision.DENY,
                ENGINE_FAILURE_RULE,
                f"guardrails could not judge the statement ({type(error).__name__}); denied",
            )

    def judge_facts(
        self,
        statements: tuple[StatementFacts, ...],
        *,
        standard_conforming_strings: bool = True,
        prepared: Mapping[str, str] | None = None,
    ) -> Verdict:
        """Judge facts extracted earlier (the simulation replays stored facts this way)."""
        strongest = Verdict(Decision.ALLOW, max_rows=self.policy.max_rows)
        for facts in statements:
            verdict = self._judge_statement(facts, standard_conforming_strings, prepared or {})
            if verdict.decision.strength > strongest.decision.strength:
                strongest = verdict
            if strongest.decision is Decision.DENY:
                break
        return strongest

    def _judge(self, sql: str) -> Verdict:
        verdict = self._verdicts.get(sql)
        if verdict is not None:
            self._verdicts.move_to_end(sql)
            return verdict
        verdict = self.judge_facts(self.cache.facts(sql))
        if not self.cache.keeps(sql):
            return verdict
        self._verdicts[sql] = verdict
        if len(self._verdicts) > self.cache.capacity:
            self._verdicts.popitem(last=False)
        return verdict

    def _judge_statement(
        self, facts: StatementFacts, conforming_strings: bool, prepared: Mapping[str, str]
    ) -> Verdict:
        strongest: Verdict | None = None
        for name in facts.prepared_names:
            if name in prepared:
                inner = self.judge_facts(
                    self.cache.facts(prepared[name]), standard_conforming_strings=conforming_strings
                )
                strongest = _stronger(strongest, replace(inner, statement_index=facts.index))
        for rule in self.policy.rules:
            what = rule.violation(facts)
            if what is not None:
                strongest = _stronger(strongest, self._verdict(rule, what, facts.index))
        for why in self._cannot_judge(facts, conforming_strings, prepared):
            unjudged = self._unjudged_verdict(why, facts.index)
            strongest = _stronger(strongest, unjudged)
        return strongest or Verdict(Decision.ALLOW, max_rows=self.policy.max_rows)

    def _cannot_judge(
        self, facts: StatementFacts, conforming_strings: bool, prepared: Mapping[str, str]
    ) -> list[str]:
        untrusted = sorted(
            str(p) for p in facts.procedures if p.name not in self.policy.trusted_procedures
        )
        calls = [f"CALL {name} runs a procedure whose body is unknown" for name in untrusted]
        escapes = [] if conforming_strings or not facts.escape_sensitive else [_ESCAPES]
        executions = [
            f"EXECUTE {name} runs a prepared statement whose text is unknown"
            for name in facts.prepared_names
            if name not in prepared
        ]
        return [*facts.opaque, *calls, *escapes, *executions]

    def _verdict(self, rule: Rule, what: str, index: int) -> Verdict:
        decision = Decision(rule.verdict)
        verb = "denies" if decision is Decision.DENY else "holds for approval"
        reason = f'guardrail "{rule.name}" {verb} {what}'
        return Verdict(decision, rule.name, reason, index, self.policy.max_rows)

    def _unjudged_verdict(self, why: str, index: int) -> Verdict:
        decision = self.policy.unparseable
        verb = {Decision.DENY: "deny", Decision.HOLD: "hold for approval"}.get(decision)
        if verb is None:
            return Verdict(Decision.ALLOW, max_rows=self.policy.max_rows)
        reason = f"guardrails {verb} a statement they cannot judge: {why}"
        return Verdict(decision, UNPARSEABLE_RULE, reason, index, self.policy.max_rows)


def _stronger(current: Verdict | None, candidate: Verdict) -> Verdict:
    """The stronger of two verdicts; on a tie the first found (the policy's order) stays."""
    if current is None or candidate.decision.strength > current.decision.strength:
        return candidate
    return current

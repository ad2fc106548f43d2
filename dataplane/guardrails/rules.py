"""Guardrail rules and policies: plain frozen dataclasses, so the control plane can build them.

A rule reads one statement's facts and says what in it the rule objects to (None: nothing).
Its `verdict` (deny or hold) says what happens then. A policy is a list of rules plus two
choices: what to do with a statement the rules cannot judge, and a cap on rows returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dataplane.guardrails import catalog
from dataplane.guardrails.facts import RelationName, StatementFacts


class Decision(StrEnum):
    """What happens to a statement; `strength` orders them (the strongest verdict wins)."""

    ALLOW = "allow"
    HOLD = "hold"
    DENY = "deny"

    @property
    def strength(self) -> int:
        return {"allow": 0, "hold": 1, "deny": 2}[self.value]


def _check_verdict(name: str, verdict: Decision) -> None:
    if not name:
        raise ValueError("a guardrail rule needs a name")
    if Decision(verdict) is Decision.ALLOW:
        raise ValueError(f"guardrail {name!r}: a rule's verdict is deny or hold, not allow")


@dataclass(frozen=True)
class DenyStatements:
    """Statements of the named classes (see catalog.STATEMENT_CLASSES).

    `parameters` narrows `set_parameter` to those names (lower case); empty means every SET.
    RESET ALL and set_config() with a computed name touch any parameter, so they match too.
    """

    name: str
    classes: frozenset[str]
    parameters: frozenset[str] = frozenset()
    verdict: Decision = Decision.DENY

    def __post_init__(self) -> None:
        _check_verdict(self.name, self.verdict)
        unknown = set(self.classes) - catalog.STATEMENT_CLASSES
        if unknown:
            known = f"unknown statement classes {sorted(unknown)}"
            raise ValueError(f"guardrail {self.name!r}: {known}")

    def violation(self, facts: StatementFacts) -> str | None:
        others = self.classes - {"set_parameter"}
        found = facts.classes_named(frozenset(others))
        if found:
            return found[0]
        if "set_parameter" in self.classes and self._sets_named_parameter(facts):
            return facts.classes_named(frozenset({"set_parameter"}))[0]
        return None

    def _sets_named_parameter(self, facts: StatementFacts) -> bool:
        if not facts.classes_named(frozenset({"set_parameter"})):
            return False
        if not self.parameters or "*" in facts.parameters:
            return True
        return bool(facts.parameters & self.parameters)


@dataclass(frozen=True)
class ReadOnly:
    """Any write: DML anywhere (writable CTEs too), row locks, SELECT INTO, DDL, COPY FROM,
    functions known to write (catalog.WRITING_FUNCTIONS), EXPLAIN ANALYZE of a write, and
    every CALL (a procedure may commit, and its body is unknown)."""

    name: str
    verdict: Decision = Decision.DENY

    def __post_init__(self) -> None:
        _check_verdict(self.name, self.verdict)

    def violation(self, facts: StatementFacts) -> str | None:
        return facts.writes[0] if facts.writes else None


@dataclass(frozen=True)
class WhereRequired:
    """UPDATE or DELETE (also inside a CTE, with USING or FROM) without a restricting WHERE."""

    name: str
    verdict: Decision = Decision.DENY

    def __post_init__(self) -> None:
        _check_verdict(self.name, self.verdict)

    def violation(self, facts: StatementFacts) -> str | None:
        return facts.unguarded[0] if facts.unguarded else None


@dataclass(frozen=True)
class RelationPattern:
    """`schema.table` where either part may be `*`; `schema` None means "in any schema"."""

    schema: str | None
    table: str

    @classmethod
    def parse(cls, text: str) -> RelationPattern:
        """Parse "orders", "hr.*", '"Sales"."Q1"': unquoted parts fold to lower case as in SQL."""
        parts = _split_identifier(text)
        if len(parts) == 1:
            return cls(None, parts[0])
        if len(parts) == 2:
            return cls(parts[0], parts[1])
        raise ValueError(f"relation pattern {text!r}: expected table or schema.table")

    def matches(self, schemas: tuple[str, ...] | None, table: str) -> bool:
        """True if a relation named `table`, in any of `schemas` (None: any), matches."""
        if self.table not in ("*", table):
            return False
        return self.schema in (None, "*") or schemas is None or self.schema in schemas

    def allows(self, schema: str | None, table: str) -> bool:
        """True if the pattern covers `table` in `schema` (None: wherever it may be)."""
        if self.table not in ("*", table):
            return False
        return self.schema in (None, "*") or self.schema == schema


@dataclass(frozen=True)
class RelationAccess:
    """Schema and table deny and allow lists, over every relation the statement names.

    Names are resolved past CTEs, through subqueries and joins; a view counts as the name
    used. An unqualified name may resolve to any schema (fail closed), unless `search_path`
    is given: then it resolves to pg_catalog (for pg_* names) and those schemas, and the rule
    refuses any change of search_path, which would break that assumption.
    `allow` None means no allow list; an empty tuple allows nothing.
    """

    name: str
    deny: tuple[RelationPattern, ...] = ()
    allow: tuple[RelationPattern, ...] | None = None
    search_path: tuple[str, ...] | None = None
    verdict: Decision = Decision.DENY

    def __post_init__(self) -> None:
        _check_verdict(self.name, self.verdict)

    def violation(self, facts: StatementFacts) -> str | None:
        if self.search_path is not None and ({"search_path", "*"} & facts.parameters):
            return "a change of search_path"
        for relation in sorted(facts.relations, key=str):
            schemas = self._schemas_of(relation)
            if any(p.matches(schemas, relation.name) for p in self.deny):
                return f"access to {relation}"
            if self.allow is not None and not self._allowed(schemas, relation.name):
                return f"access to {relation} (not in the allowed list)"
        return None

    def _allowed(self, schemas: tuple[str, ...] | None, table: str) -> bool:
        """Allowed in every schema the name may resolve to (fail closed: PostgreSQL picks)."""
        allow = self.allow or ()
        places: tuple[str | None, ...] = (None,) if schemas is None else schemas
        return all(any(p.allows(schema, table) for p in allow) for schema in places)

    def _schemas_of(self, relation: RelationName) -> tuple[str, ...] | None:
        if relation.schema is not None:
            return (relation.schema,)
        if self.search_path is None:
            return None
        catalog_first = ("pg_catalog",) if relation.name.startswith("pg_") else ()
        return catalog_first + self.search_path


@dataclass(frozen=True)
class DeniedFunctions:
    """Calls of the listed functions in any schema, anywhere in the statement's tree."""

    name: str
    functions: tuple[str, ...] = catalog.DEFAULT_DENIED_FUNCTIONS
    verdict: Decision = Decision.DENY

    def __post_init__(self) -> None:
        _check_verdict(self.name, self.verdict)

    def violation(self, facts: StatementFacts) -> str | None:
        for function in sorted(facts.functions, key=str):
            if catalog.name_matches(function.name, self.functions):
                return f"a call of {function}()"
        return None


Rule = DenyStatements | ReadOnly | WhereRequired | RelationAccess | DeniedFunctions


@dataclass(frozen=True)
class GuardrailPolicy:
    """The guardrails of one resource for one identity or group.

    `unparseable`: the decision for a statement the rules cannot judge (a parse error, a DO
    block, EXECUTE of an unknown prepared statement, CALL of a procedure not in
    `trusted_procedures`); deny by default. `max_rows`: the agent ends a result past it.
    """

    rules: tuple[Rule, ...] = ()
    unparseable: Decision = Decision.DENY
    max_rows: int | None = None
    trusted_procedures: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        names = [rule.name for rule in self.rules]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"guardrail rule names must be unique: {duplicates}")
        if self.max_rows is not None and self.max_rows < 0:
            raise ValueError("max_rows must be zero or more")
        object.__setattr__(self, "unparseable", Decision(self.unparseable))


def _split_identifier(text: str) -> list[str]:
    """Split a dotted name as PostgreSQL reads it: "x" keeps case and dots, x folds."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if char == '"' and quoted and text[index + 1 : index + 2] == '"':
            current.append('"')
            index += 1
        elif char == '"':
            quoted = not quoted
        elif char == "." and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char if quoted else char.lower())
        index += 1
    parts.append("".join(current))
    if quoted or any(not p.strip() for p in parts):
        raise ValueError(f"relation pattern {text!r} is not a valid name")
    return parts

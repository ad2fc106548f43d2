"""Statement facts: what a SQL text does, extracted once by PostgreSQL's own parser.

Rules never look at SQL text or at the parse tree; they read these facts. Extracting them is
the expensive part (parsing and one walk of the tree), so the engine caches facts by text and
a policy change re-evaluates cached facts without parsing again.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RelationName:
    """A relation as named in the query, case-folded as PostgreSQL folds it.

    `schema` is None for an unqualified name, which PostgreSQL resolves through search_path
    at run time; rules decide what that means (deny rules: any schema).
    """

    schema: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class FunctionName:
    """A function or procedure as called, with its schema if the call named one."""

    schema: str | None
    name: str

    def __str__(self) -> str:
        return self.name if self.schema is None else f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class StatementFacts:
    """Everything the rules need to know about one statement of a SQL text.

    Each tuple of strings holds descriptions fit for a client's error message, so a verdict
    can say what it objects to ("DELETE FROM orders without WHERE") without the tree.
    """

    index: int
    command: str  # the command as a client reads it: "SELECT", "DROP TABLE", "COPY"
    classes: tuple[tuple[str, str], ...] = ()  # (statement class, what belongs to it)
    writes: tuple[str, ...] = ()  # what in the statement writes
    relations: frozenset[RelationName] = frozenset()  # read or written, CTE names excluded
    functions: frozenset[FunctionName] = frozenset()  # called anywhere in the tree
    procedures: frozenset[FunctionName] = frozenset()  # CALLed: their bodies are unknown
    parameters: frozenset[str] = frozenset()  # set by SET/RESET/set_config; "*" = unknown
    unguarded: tuple[str, ...] = ()  # UPDATE/DELETE without a WHERE that restricts
    opaque: tuple[str, ...] = ()  # why the rules cannot judge (parse error, DO, ...)
    prepared_names: tuple[str, ...] = ()  # EXECUTEd prepared statements: judged by their text
    # The text has a backslash in a '...' string: with standard_conforming_strings off the
    # server would read it differently from the parser (which reads it as on).
    escape_sensitive: bool = False

    def classes_named(self, wanted: frozenset[str]) -> tuple[str, ...]:
        """Descriptions of this statement's parts that fall in one of the `wanted` classes."""
        return tuple(what for cls, what in self.classes if cls in wanted)


def unparseable(index: int, why: str) -> StatementFacts:
    """Facts of a text the parser refused: nothing is known except that."""
    return StatementFacts(index=index, command="(unparsed)", opaque=(why,))

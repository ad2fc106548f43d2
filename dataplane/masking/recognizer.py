"""One detection rule: a regex both Python `re` and Hyperscan accept, plus validation.

Allowed pattern syntax: character classes, groups, alternation, bounded and unbounded
repetition, anchors and inline `(?i)`. Not allowed: lookaround, backreferences, `\\b`
inside alternations. Use explicit boundary classes or rely on the validator instead.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Recognizer:
    entity: str
    name: str
    pattern: str
    validator: Callable[[str], bool] | None = None
    score: float = 0.85
    context: tuple[str, ...] = ()
    context_required: bool = False
    normalise: Callable[[str], str] | None = None

"""One detection rule: a regex both Python `re` and Hyperscan accept, plus validation.

Allowed pattern syntax: character classes, groups, alternation, bounded and unbounded
repetition, anchors and inline `(?i)`. Not allowed: lookaround, backreferences and `\\b`
anywhere (Hyperscan rejects `\\b` in UCP mode); wrap the body with
`recognizers.boundaries.word_bounded` and validate with `boundaries.exactly` instead.
Keep bounded repeats small (`{10,}` rather than `{10,250}`): Hyperscan with leftmost
start-of-match reports large bounded repeats as "Pattern is too large".
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

"""One detection rule: a regex both Python `re` and Hyperscan accept, plus validation.

Allowed pattern syntax: character classes, groups, alternation, bounded and unbounded
repetition, anchors and inline `(?i)`. Not allowed: lookaround, backreferences and `\\b`
anywhere (Hyperscan rejects `\\b` in UCP mode); wrap the body with
`recognizers.boundaries.word_bounded` and validate with `boundaries.exactly` instead.
Keep bounded repeats small (`{10,}` rather than `{10,250}`): large bounded repeats make
Hyperscan databases big and slow (with leftmost start-of-match, "Pattern is too large").
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

CONTEXT_WINDOW = 100  # characters before a match searched for context words


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
    # None: a context word anywhere in the window counts. A number: the word must label this
    # value, ending at most that many characters before it with no digit in between.
    context_gap: int | None = None

    def has_context(self, text: str, start: int, window: int = CONTEXT_WINDOW) -> bool:
        """Whether a context word supports the value starting at `start`.

        A gap keeps a label from reaching past its own value: in `dob,1985-01-02,2024-05-06`
        the second date has a digit between it and `dob`, so `dob` is not its label.
        """
        return self.labels_window(text[max(0, start - window) : start].lower())

    def labels_window(self, before: str) -> bool:
        """`has_context` for the window before the value, already lowered."""
        if self.context_gap is None:
            return any(word in before for word in self._lowered_context)
        return any(_labels(before, word, self.context_gap) for word in self._lowered_context)

    @cached_property
    def _lowered_context(self) -> tuple[str, ...]:
        return tuple(word.lower() for word in self.context)


def _labels(before: str, word: str, gap: int) -> bool:
    """The last `word` in `before` ends within `gap` characters of its end, digits aside."""
    at = before.rfind(word)
    if at < 0:
        return False
    between = before[at + len(word) :]
    return len(between) <= gap and not any(c.isdigit() for c in between)

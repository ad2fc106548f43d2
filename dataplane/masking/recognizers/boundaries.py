"""Word boundaries without `\\b` (Hyperscan rejects it in UCP mode) or lookaround.

A pattern built by `word_bounded` also swallows one word character before the body and
every word character after it. Python's `finditer` returns the leftmost match, so a body
that sits inside a longer token (`A123-45-6789`, `1234-56-78901`) comes back with its
neighbours attached, and the validator from `exactly` rejects it because the whole match
is not exactly the body. A body on its own comes back as itself. Python `re` applies the
boundary (the Hyperscan scanner only prefilters), so both scanners agree.
"""

import re
from collections.abc import Callable

WORD = "[A-Za-z0-9_]"


def word_bounded(body: str) -> str:
    """The body with word characters either side absorbed into the match."""
    return f"{WORD}?(?:{body}){WORD}*"


def exactly(
    body: str,
    check: Callable[[str], bool] | None = None,
    normalise: Callable[[str], str] | None = None,
) -> Callable[[str], bool]:
    """A validator: the match is the body alone, and `check(normalise(match))` holds."""
    shape = re.compile(body)

    def validate(value: str) -> bool:
        if shape.fullmatch(value) is None:
            return False
        if check is None:
            return True
        return check(normalise(value) if normalise else value)

    return validate

"""The multi-pattern scan that turns text into candidate matches.

Both scanners yield exactly the candidates of `re.finditer` per pattern, so results are
identical by construction. Hyperscan runs first as one multi-pattern prefilter over the
whole text (one pass for every rule); Python then only revisits the few patterns that hit.
Most text hits no pattern, so the common case costs one Hyperscan pass.
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dataplane.masking.recognizer import Recognizer


@dataclass(frozen=True)
class Candidate:
    recognizer_index: int
    start: int
    end: int


class Scanner(Protocol):
    def candidates(self, text: str) -> Iterator[Candidate]: ...


def _compiled(recognizers: Sequence[Recognizer]) -> list[re.Pattern[str]]:
    return [re.compile(r.pattern) for r in recognizers]


def _finditer(index: int, pattern: re.Pattern[str], text: str) -> Iterator[Candidate]:
    for match in pattern.finditer(text):
        if match.end() > match.start():
            yield Candidate(index, match.start(), match.end())


class PythonScanner:
    """Pure-Python fallback: one `finditer` per pattern."""

    def __init__(self, recognizers: Sequence[Recognizer]) -> None:
        self._patterns = _compiled(recognizers)

    def candidates(self, text: str) -> Iterator[Candidate]:
        for index, pattern in enumerate(self._patterns):
            yield from _finditer(index, pattern, text)


class HyperscanScanner:
    """One Hyperscan database for every pattern, used to find which patterns hit."""

    def __init__(self, recognizers: Sequence[Recognizer]) -> None:
        import hyperscan  # only where it imports; default_scanner checks first

        self._patterns = _compiled(recognizers)
        self._database: Any = None
        # A pattern Hyperscan rejects is always run by Python: never silently skipped.
        forms = [prefilter_form(r.pattern) for r in recognizers]
        self.python_only = [i for i, form in enumerate(forms) if not _hs_accepts(form)]
        accepted = [i for i in range(len(recognizers)) if i not in self.python_only]
        if accepted:
            self._database = hyperscan.Database()
            self._database.compile(
                expressions=[forms[i].encode() for i in accepted],
                ids=accepted,
                flags=[_hs_flags()] * len(accepted),
            )

    def _hits(self, text: str) -> set[int]:
        hits: set[int] = set(self.python_only)
        if self._database is not None:

            def on_match(pid: int, start: int, end: int, flags: int, ctx: object) -> None:
                hits.add(pid)

            try:
                data = text.encode("utf-8")
            except UnicodeEncodeError:
                # Lone surrogates are not valid UTF-8, which HS_FLAG_UTF8 assumes: let Python
                # run every pattern rather than risk a missed match.
                return set(range(len(self._patterns)))
            self._database.scan(data, match_event_handler=on_match)
        return hits

    def candidates(self, text: str) -> Iterator[Candidate]:
        for index in sorted(self._hits(text)):
            yield from _finditer(index, self._patterns[index], text)


_WORD_BOUNDARY = re.compile(r"(?<!\\)((?:\\\\)*)\\[bB]")


def prefilter_form(pattern: str) -> str:
    """The pattern without `\\b`/`\\B` (Hyperscan rejects them in UCP mode).

    Dropping an assertion only widens what matches, so the Hyperscan form hits whenever
    the Python pattern would: a safe prefilter. Python then applies the real pattern.
    """
    return _WORD_BOUNDARY.sub(r"\1", pattern)


def _hs_flags() -> int:
    import hyperscan

    return int(hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_UCP | hyperscan.HS_FLAG_SINGLEMATCH)


def _hs_accepts(pattern: str) -> bool:
    import hyperscan

    try:
        hyperscan.Database().compile(expressions=[pattern.encode()], ids=[0], flags=[_hs_flags()])
    except hyperscan.error:
        return False
    return True


def hyperscan_available() -> bool:
    try:
        import hyperscan  # noqa: F401
    except ImportError:
        return False
    return True


def default_scanner(recognizers: Sequence[Recognizer]) -> Scanner:
    """Hyperscan where it imports, the pure-Python fallback otherwise."""
    if hyperscan_available():
        return HyperscanScanner(recognizers)
    return PythonScanner(recognizers)

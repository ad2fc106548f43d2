"""The multi-pattern scan that turns text into candidate matches.

Both scanners yield exactly the candidates of `pattern.finditer(text)` per pattern, so
results are identical by construction; they only skip text where no match can start.
`finditer(text, lo)` equals `finditer(text)` whenever no match starts before `lo`: Python
still sees the characters before `lo` for lookbehind and `\\b`. So each scanner's job is a
sound lower bound `lo` on the first match start, or the proof that there is no match:

- Hyperscan runs every pattern in one pass (single match per pattern) and reports where
  the first match of each pattern's prefilter form ends. Where that form has a bounded
  width, no Python match starts more than that width before this end.
- The pure-Python fallback looks for each pattern's anchor: a run of characters every
  match must contain (`@`, nine digits, `eyJ`...), found by reading the parsed pattern.
  No anchor in the text, no match; an anchor a bounded distance into the match bounds
  where the first match can start.
"""

import itertools
import re
from collections.abc import Iterator, Sequence, Set
from dataclasses import dataclass
from functools import cached_property
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, NamedTuple, Protocol

from dataplane.masking.recognizer import Recognizer


class Candidate(NamedTuple):
    """One raw match of one recognizer's pattern (character offsets).

    A named tuple rather than a dataclass: rows yield many candidates, and building a
    tuple costs a fraction of a frozen dataclass's `__init__`.
    """

    recognizer_index: int
    start: int
    end: int


class Scanner(Protocol):
    def candidates(self, text: str, skip: Set[int] = frozenset()) -> Iterator[Candidate]:
        """Every candidate of every pattern, but those whose index is in `skip`."""
        ...


def _compiled(recognizers: Sequence[Recognizer]) -> list[re.Pattern[str]]:
    return [re.compile(r.pattern) for r in recognizers]


def _finditer(index: int, pattern: re.Pattern[str], text: str, lo: int = 0) -> Iterator[Candidate]:
    for match in pattern.finditer(text, lo):
        start, end = match.span()
        if end > start:
            yield Candidate(index, start, end)


# Pattern anatomy, read from Python's own parse of the pattern.

_UNBOUNDED = int(sre_parse.MAXREPEAT)
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}
_RARITY_POSITIONS = 4
_CLASS_LIMIT = 256  # wider classes make anchors that hit almost any text: not worth it
# Rough share of each character in prose and result rows; anything else counts as 0.002.
_FREQUENCY = {
    **dict.fromkeys("abcdefghijklmnopqrstuvwxyz", 0.04),
    **dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 0.005),
    **dict.fromkeys("0123456789", 0.01),
    **dict.fromkeys(" \t\n", 0.15),
    **dict.fromkeys(".,-:/", 0.02),
}


@dataclass(frozen=True)
class Anchor:
    """A run of characters every match contains: one class per position, in a row.

    `lead` is the most characters a match can have before the run (None: unbounded).
    """

    runs: tuple[frozenset[str], ...]
    lead: int | None

    def rarity(self) -> float:
        """Rough chance that a position of ordinary text starts this run (lower is rarer).

        Only the first few positions count: characters come in runs (a digit is mostly
        followed by digits), so a long run of a common class is not as rare as a product
        over all its positions would say.
        """
        chance = 1.0
        for chars in self.runs[:_RARITY_POSITIONS]:
            chance *= min(1.0, sum(_FREQUENCY.get(c, 0.002) for c in chars))
        return chance

    def regex(self) -> str:
        parts = [_class_regex(chars) for chars in self.runs]
        groups = [(part, len(list(same))) for part, same in itertools.groupby(parts)]
        return "".join(part if n == 1 else f"{part}{{{n}}}" for part, n in groups)


def _class_regex(chars: frozenset[str]) -> str:
    members = "".join(re.escape(c) for c in sorted(chars))
    return members if len(chars) == 1 else f"[{members}]"


def anchor_of(pattern: str) -> Anchor | None:
    """The rarest run every match of `pattern` contains, or None if none is certain.

    Conservative: case-insensitive patterns, categories such as `\\d` and negated
    classes give no anchor (so no text is skipped for them).
    """
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return None
    return _sequence_anchor(parsed.data)


class _Chain:
    """Consecutive fixed-width items of a sequence, read as one run."""

    def __init__(self) -> None:
        self.runs: list[frozenset[str]] = []
        self.lead: int | None = 0

    def extend(self, lead: int | None, runs: tuple[frozenset[str], ...]) -> None:
        if not self.runs:
            self.lead = lead
        self.runs += runs

    def take(self) -> Anchor | None:
        found = Anchor(tuple(self.runs), self.lead) if self.runs else None
        self.runs = []
        return found


def _sequence_anchor(items: Sequence[Any]) -> Anchor | None:
    best: Anchor | None = None
    lead: int | None = 0
    chain = _Chain()
    for item in items:
        fixed = _fixed_runs(item)
        variable = None if fixed is not None else _variable_run(item)
        if fixed is not None:  # fixed width: the run goes on
            chain.extend(lead, fixed)
        else:
            if variable is not None:  # its first `least` characters end the run
                chain.extend(lead, (variable[0],) * variable[1])
            best = _rarer(best, chain.take())
            inner = None if variable is not None else _item_anchor(item)
            if inner is not None:
                best = _rarer(best, Anchor(inner.runs, _add(lead, inner.lead)))
        lead = _add(lead, _max_width([item]))
    return _rarer(best, chain.take())


def _fixed_runs(item: tuple[Any, Any]) -> tuple[frozenset[str], ...] | None:
    """The classes, position by position, of an item that always has the same width."""
    op, arg = item
    name = str(op)
    if name == "LITERAL":
        return (frozenset(chr(arg)),)
    if name == "IN":
        chars = _class_chars(arg)
        return None if chars is None else (chars,)
    if name in _REPEATS and arg[0] == arg[1] and arg[0] >= 1:
        inner = _fixed_sequence(arg[2].data)
        return None if inner is None else inner * arg[0]
    if name == "SUBPATTERN" and not (arg[1] or arg[2]):
        return _fixed_sequence(arg[3].data)
    if name == "BRANCH":
        return _fixed_branches([b.data for b in arg[1]])
    return None


def _fixed_sequence(items: Sequence[Any]) -> tuple[frozenset[str], ...] | None:
    runs: tuple[frozenset[str], ...] = ()
    for item in items:
        fixed = _fixed_runs(item)
        if fixed is None:
            return None
        runs += fixed
    return runs


def _fixed_branches(branches: list[Any]) -> tuple[frozenset[str], ...] | None:
    shapes = [_fixed_sequence(b) for b in branches]
    known = [s for s in shapes if s is not None]
    if len(known) < len(shapes) or len({len(s) for s in known}) != 1:
        return None
    return tuple(frozenset().union(*column) for column in zip(*known, strict=True))


def _variable_run(item: tuple[Any, Any]) -> tuple[frozenset[str], int] | None:
    """(characters, least repeats) for one class repeated at least once, e.g. `[0-9]{1,3}`."""
    op, arg = item
    if str(op) not in _REPEATS or arg[0] < 1 or len(arg[2].data) != 1:
        return None
    inner = _fixed_runs(arg[2].data[0])
    return None if inner is None or len(inner) != 1 else (inner[0], arg[0])


def _item_anchor(item: tuple[Any, Any]) -> Anchor | None:
    op, arg = item
    name = str(op)
    if name in _REPEATS:
        return _sequence_anchor(arg[2].data) if arg[0] >= 1 else None
    if name == "SUBPATTERN":
        _group, add_flags, del_flags, sub = arg
        return None if add_flags or del_flags else _sequence_anchor(sub.data)
    if name == "ATOMIC_GROUP":
        return _sequence_anchor(arg.data)
    if name == "BRANCH":
        return _branch_anchor([b.data for b in arg[1]])
    return None


def _branch_anchor(branches: list[Any]) -> Anchor | None:
    """Every branch's anchor merged position by position (a match contains one of them)."""
    anchors = [_sequence_anchor(b) for b in branches]
    known = [a for a in anchors if a is not None]
    if len(known) < len(anchors):
        return None
    length = min(len(a.runs) for a in known)
    runs = tuple(frozenset().union(*(a.runs[i] for a in known)) for i in range(length))
    leads = [a.lead for a in known]
    lead = None if None in leads else max(x for x in leads if x is not None)
    return Anchor(runs, lead)


def required_classes(pattern: str) -> list[frozenset[str]]:
    """Classes every match of `pattern` holds at least one character of, anywhere in it
    (an anchor's run must be contiguous; these need not be). Conservative like `anchor_of`:
    case-insensitive parts, categories and negated classes require nothing."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return []
    if parsed.state.flags & (re.IGNORECASE | re.LOCALE):
        return []
    return _required(parsed.data)


def _required(items: Sequence[Any]) -> list[frozenset[str]]:
    found: list[frozenset[str]] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            found.append(frozenset(chr(arg)))
        elif name == "IN":
            chars = _class_chars(arg)
            found += [] if chars is None else [chars]
        elif name in _REPEATS and arg[0] >= 1:
            found += _required(arg[2].data)
        elif name == "SUBPATTERN" and not (arg[1] or arg[2]):
            found += _required(arg[3].data)
        elif name == "ATOMIC_GROUP":
            found += _required(arg.data)
        elif name == "BRANCH":
            found += _branch_required([_required(b.data) for b in arg[1]])
    return found


def _branch_required(branches: list[list[frozenset[str]]]) -> list[frozenset[str]]:
    """A match takes one branch, so it holds a character of some branch's class: the
    union of each branch's rarest class (nothing, if a branch requires nothing)."""
    if not all(branches):
        return []
    rarest = [min(b, key=lambda c: Anchor((c,), 0).rarity()) for b in branches]
    return [frozenset().union(*rarest)]


def _class_chars(items: Sequence[Any]) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, arg in items:
        if str(op) == "LITERAL":
            chars.add(chr(arg))
        elif str(op) == "RANGE" and arg[1] - arg[0] < _CLASS_LIMIT:
            chars.update(chr(c) for c in range(arg[0], arg[1] + 1))
        else:  # NEGATE, CATEGORY (\d is every Unicode digit), huge ranges
            return None
    return frozenset(chars) if len(chars) <= _CLASS_LIMIT else None


def _rarer(a: Anchor | None, b: Anchor | None) -> Anchor | None:
    if a is None or b is None:
        return a or b
    key_a, key_b = (a.rarity(), a.lead is None), (b.rarity(), b.lead is None)
    return b if key_b < key_a else a


def _max_width(items: Sequence[Any]) -> int | None:
    pattern = sre_parse.SubPattern(sre_parse.State(), list(items))
    width = int(pattern.getwidth()[1])
    return None if width >= _UNBOUNDED else width


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def max_width(pattern: str) -> int | None:
    """The longest match of `pattern` in characters, or None when unbounded."""
    return _max_width(sre_parse.parse(pattern).data)


# The pure-Python fallback.


@dataclass(frozen=True)
class _AnchoredPattern:
    index: int
    pattern: re.Pattern[str]
    anchor: Anchor | None
    search: re.Pattern[str] | None

    @cached_property
    def classes(self) -> tuple[frozenset[str], ...]:
        """The anchor's distinct classes, rarest first."""
        runs = set(self.anchor.runs) if self.anchor else set()
        return tuple(sorted(runs, key=lambda c: Anchor((c,), 0).rarity()))

    def possible(self, present: set[str]) -> bool:
        """False when the text lacks every character of some position of the anchor."""
        return all(not c.isdisjoint(present) for c in self.classes)


class PythonScanner:
    """Pure Python: each pattern's `finditer`, only where its anchor says a match can be.

    The characters the text holds are gathered once, so most anchors are ruled out
    without a search (prose has no `@`, most of it no digits).
    """

    def __init__(self, recognizers: Sequence[Recognizer]) -> None:
        anchors = [anchor_of(r.pattern) for r in recognizers]
        # Patterns sharing one anchor (the digit runs) search the text for it once.
        searches = {a.regex(): re.compile(a.regex()) for a in anchors if a is not None}
        self._plan = [
            _AnchoredPattern(i, p, a, None if a is None else searches[a.regex()])
            for i, (p, a) in enumerate(zip(_compiled(recognizers), anchors, strict=True))
        ]

    def candidates(self, text: str, skip: Set[int] = frozenset()) -> Iterator[Candidate]:
        present = set(text)
        firsts: dict[re.Pattern[str], int | None] = {}
        for step in self._plan:
            if step.index in skip:
                continue
            if step.anchor is None or step.search is None:
                yield from _finditer(step.index, step.pattern, text)
            elif step.possible(present):
                first = _first(step.search, text, firsts)
                if first is not None:
                    lead = step.anchor.lead
                    lo = 0 if lead is None else max(0, first - lead)
                    yield from _finditer(step.index, step.pattern, text, lo)


def _first(
    search: re.Pattern[str], text: str, firsts: dict[re.Pattern[str], int | None]
) -> int | None:
    if search not in firsts:
        hit = search.search(text)
        firsts[search] = None if hit is None else hit.start()
    return firsts[search]


# The Hyperscan scanner.


class HyperscanScanner:
    """One Hyperscan database for every pattern: which patterns hit, and from where."""

    def __init__(self, recognizers: Sequence[Recognizer]) -> None:
        import hyperscan  # only where it imports; default_scanner checks first

        self._patterns = _compiled(recognizers)
        self._database: Any = None
        # A pattern Hyperscan rejects is always run by Python: never silently skipped.
        forms = [prefilter_form(without_word_tail(r.pattern)) for r in recognizers]
        self.python_only = [i for i, form in enumerate(forms) if not _hs_accepts(form)]
        accepted = [i for i in range(len(recognizers)) if i not in self.python_only]
        self._reach = [max_width(form) if i in accepted else None for i, form in enumerate(forms)]
        if accepted:
            self._database = hyperscan.Database()
            self._database.compile(
                expressions=[forms[i].encode() for i in accepted],
                ids=accepted,
                flags=[_hs_flags()] * len(accepted),
            )

    def _first_ends(self, text: str) -> dict[int, int] | None:
        """Pattern id -> UTF-8 byte offset where its first prefilter match ends.

        None when the text is not valid UTF-8 (lone surrogates), which HS_FLAG_UTF8
        assumes: then every pattern runs over the whole text rather than risk a miss.
        """
        ends: dict[int, int] = {}
        if self._database is None:
            return ends
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        self._database.scan(data, match_event_handler=_first_end, context=ends)
        if not text.isascii():
            ends = {pid: _char_offset(data, end) for pid, end in ends.items()}
        return ends

    def candidates(self, text: str, skip: Set[int] = frozenset()) -> Iterator[Candidate]:
        ends = self._first_ends(text)
        if ends is None:
            for index, pattern in enumerate(self._patterns):
                if index not in skip:
                    yield from _finditer(index, pattern, text)
            return
        if not ends and not self.python_only:  # most values: no pattern hit
            return
        hits = [*ends, *self.python_only] if self.python_only else list(ends)
        hits.sort()
        patterns, reaches = self._patterns, self._reach
        for index in hits:
            if index in skip:
                continue
            end, reach = ends.get(index), reaches[index]
            lo = 0 if end is None or reach is None else max(0, end - reach)
            for match in patterns[index].finditer(text, lo):  # _finditer, inlined: hot
                start, stop = match.span()
                if stop > start:
                    yield Candidate(index, start, stop)


def _first_end(pid: int, start: int, end: int, flags: int, ends: dict[int, int]) -> None:
    """Hyperscan's match handler (no closure per scan: the dict comes as its context)."""
    ends.setdefault(pid, end)  # one report per pattern (SINGLEMATCH); kept safe anyway


def _char_offset(data: bytes, byte_offset: int) -> int:
    """Characters in the first `byte_offset` bytes; a split character counts as not there."""
    return len(data[:byte_offset].decode("utf-8", errors="ignore"))


_WORD_BOUNDARY = re.compile(r"(?<!\\)((?:\\\\)*)\\[bB]")
_WORD_TAIL = "[A-Za-z0-9_]*"


def prefilter_form(pattern: str) -> str:
    """The pattern without `\\b`/`\\B` (Hyperscan rejects them in UCP mode).

    Dropping an assertion only widens what matches, so the Hyperscan form hits whenever
    the Python pattern would: a safe prefilter. Python then applies the real pattern.
    """
    return _WORD_BOUNDARY.sub(r"\1", pattern)


def without_word_tail(pattern: str) -> str:
    """The pattern without a trailing `[A-Za-z0-9_]*` (what `word_bounded` appends).

    Every match of the pattern starts with a match of what is left, so the first end
    Hyperscan reports for the rest still bounds where the first full match starts; and
    the rest usually has a bounded width, where the whole never does. Anything but a
    plain top-level tail is left alone.
    """
    if not pattern.endswith(_WORD_TAIL):
        return pattern
    head = pattern[: -len(_WORD_TAIL)]
    try:
        whole, rest = sre_parse.parse(pattern), sre_parse.parse(head)
    except re.error:
        return pattern
    same_head = repr(whole.data[:-1]) == repr(rest.data)
    return head if same_head and whole.state.flags == rest.state.flags else pattern


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

"""Statement texts and error messages masked before they reach the audit log.

A statement carries values (`insert into customers values ('a@b.com')`) and an error
echoes them (`Key (email)=(a@b.com) already exists`), whatever the session's own
masking profile: the audit log must never hold them unmasked. So every text is scanned
with every built-in recogniser and redacted (`[EMAIL_ADDRESS]`). Prepared statements
repeat the same text, so recent results are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from functools import cache

from dataplane.masking.engine import MaskingEngine
from dataplane.masking.strategies import REDACTED, MaskingPolicy

CACHE_SIZE = 512
CACHEABLE_LENGTH = 4096  # longer texts are masked every time rather than held in memory


class AuditTextMasker:
    """Masks texts with full detection and the redact strategy; small LRU by text."""

    def __init__(self, engine: MaskingEngine, size: int = CACHE_SIZE) -> None:
        self._engine = engine
        self._policy = MaskingPolicy()
        self._size = size
        self._recent: OrderedDict[str, str] = OrderedDict()

    def __call__(self, text: str) -> str:
        if not text:
            return text
        if text in self._recent:
            self._recent.move_to_end(text)
            return self._recent[text]
        masked = self._masked(text)
        if len(text) <= CACHEABLE_LENGTH:
            self._recent[text] = masked
            if len(self._recent) > self._size:
                self._recent.popitem(last=False)
        return masked

    def uncached(self, text: str) -> str:
        """``text`` masked without touching the cache (texts unlikely to repeat, which
        would only push the statement texts out of it)."""
        return self._masked(text) if text else text

    def _masked(self, text: str) -> str:
        try:
            return self._engine.mask(text, self._policy).text
        except Exception:  # fail closed: the engine already does; this is belt and braces
            return REDACTED


@cache
def default_masker() -> AuditTextMasker:
    """Built on first use: compiling every built-in recogniser costs tens of milliseconds."""
    return AuditTextMasker(MaskingEngine())


def mask_statement_text(text: str) -> str:
    """`text` with every detected value redacted: the AuditAddon's `redact_text`."""
    return default_masker()(text)


Cell = str | None
# Joins a result sample's cells for one scan; no recogniser matches a value across it
# without also consuming it, which the count check below notices.
_CELL_SEPARATOR = "\n\x1f\n"


def mask_sample_rows(
    rows: Sequence[Sequence[Cell]], masker: AuditTextMasker | None = None
) -> list[list[Cell]]:
    """A masked session's sample rows redacted once more before they are recorded (the
    AuditAddon's `redact_rows`): the session's profile may leave an entity the audit trail
    must not hold. One scan of all cells joined (a statement's sample is 3 rows at most),
    uncached; if a detection spans cells, each cell is scanned on its own."""
    masker = masker or default_masker()
    texts = [cell for row in rows for cell in row if cell]
    if not texts:
        return [list(row) for row in rows]
    masked = masker.uncached(_CELL_SEPARATOR.join(texts)).split(_CELL_SEPARATOR)
    if len(masked) != len(texts):
        masked = [masker.uncached(text) for text in texts]
    replaced = iter(masked)
    return [[next(replaced) if cell else cell for cell in row] for row in rows]

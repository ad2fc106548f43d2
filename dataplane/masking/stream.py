"""Masking a text stream (terminal output) chunk by chunk with a bounded hold-back.

The last `hold_back` characters of what has arrived are kept back, so a value split
across chunks is seen whole before anything around it is released. A detected value
that straddles the release point is held back whole; the buffer never exceeds
`hold_back` characters beyond the longest value, so memory stays bounded. A private key
block is held from BEGIN to END (at most MAX_HOLD characters, then redacted).
"""

import re

from dataplane.masking.engine import MaskingEngine, MaskResult, apply_spans
from dataplane.masking.strategies import REDACTED, MaskingPolicy

# A private key block is longer than any hold-back: from its BEGIN line, hold everything
# until its END line arrives, so no line of the key is released before it can be masked.
OPEN_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?![\s\S]*-----END [A-Z0-9 ]*PRIVATE KEY-----)"
)
MAX_HOLD = 65536  # an unterminated block beyond this is redacted, not held forever


class StreamMasker:
    def __init__(
        self, engine: MaskingEngine, policy: MaskingPolicy | None = None, hold_back: int = 256
    ) -> None:
        self.engine = engine
        self.policy = policy or MaskingPolicy()
        self.hold_back = hold_back
        self.counts: dict[str, int] = {}
        self.failed = 0
        self._buffer = ""

    def feed(self, chunk: str) -> str:
        """Masked text that is safe to release now; the rest waits for the next chunk."""
        self._buffer += chunk
        limit = len(self._buffer) - self.hold_back
        block = OPEN_BLOCK.search(self._buffer)
        if block is None:
            return self._release(limit)
        if len(self._buffer) - block.start() > MAX_HOLD:  # fail closed: drop the held block
            return self._release(block.start()) + self._record(
                MaskResult(REDACTED, {}, failed=1), len(self._buffer)
            )
        return self._release(min(limit, block.start()))

    def flush(self) -> str:
        """Everything still held, masked: call at the end of the stream."""
        return self._release(len(self._buffer))

    def _release(self, limit: int) -> str:
        if limit <= 0:
            return ""
        try:
            spans = self.engine.scan(self._buffer)
        except Exception:  # fail closed: the held text is redacted, never released raw
            return self._record(MaskResult(REDACTED, {}, failed=1), limit)
        for span in spans:
            if span.start < limit < span.end:
                limit = span.start
        released = [s for s in spans if s.end <= limit]
        return self._record(apply_spans(self._buffer[:limit], released, self.policy), limit)

    def _record(self, result: MaskResult, consumed: int) -> str:
        self._buffer = self._buffer[consumed:]
        self.failed += result.failed
        for entity, count in result.counts.items():
            self.counts[entity] = self.counts.get(entity, 0) + count
        return result.text

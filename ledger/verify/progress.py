"""A one-line progress bar on stderr for long bundles (redrawn at most ~5 times a second)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Callable as the scan's progress hook: `(entries so far, bytes so far)`."""

    def __init__(self, total_bytes: int, stream: TextIO = sys.stderr) -> None:
        self.total, self.stream = max(total_bytes, 1), stream
        self.started = self.last = time.monotonic()

    def __call__(self, entries: int, done_bytes: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        fraction = min(done_bytes / self.total, 1.0)
        filled = int(fraction * WIDTH)
        rate = entries / max(now - self.started, 1e-9)
        bar = "#" * filled + "." * (WIDTH - filled)
        self.stream.write(f"\r[{bar}] {fraction:4.0%} {entries:,} entries {rate:,.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * (WIDTH + 50) + "\r")
        self.stream.flush()

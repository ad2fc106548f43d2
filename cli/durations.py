"""Durations as people type them (``30m``, ``1h30m``, ``90s``, ``2h``) and as they read them."""

from __future__ import annotations

import re

UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PART = re.compile(r"(\d+)([smhd])")


class DurationError(ValueError):
    """Not a duration this parser understands."""


def duration_parse(text: str) -> int:
    """Seconds in ``text``: one or more ``<number><unit>`` parts (s, m, h, d), largest unit
    first, or a bare number of seconds. Zero is refused."""
    cleaned = text.strip().lower()
    if cleaned.isdigit():
        seconds = int(cleaned)
    else:
        parts = _PART.findall(cleaned)
        units = [unit for _, unit in parts]
        ordered = sorted(units, key=lambda unit: -UNIT_SECONDS[unit])
        if not parts or "".join(n + u for n, u in parts) != cleaned or units != ordered:
            raise DurationError(f"{text!r} is not a duration (try 30m, 1h, 1h30m or 90s)")
        if len(set(units)) != len(units):
            raise DurationError(f"{text!r} repeats a unit")
        seconds = sum(int(number) * UNIT_SECONDS[unit] for number, unit in parts)
    if seconds <= 0:
        raise DurationError("a duration must be longer than zero")
    return seconds


def duration_format(seconds: float) -> str:
    """``seconds`` as ``1h 5m``, ``4m 10s`` or ``12s`` (two largest units, rounded down)."""
    remaining = max(0, int(seconds))
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        count, remaining = divmod(remaining, UNIT_SECONDS[unit])
        if count or (unit == "s" and not parts):
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2])

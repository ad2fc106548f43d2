"""`--for 30m`: durations as people type them, and time left as they read it."""

from __future__ import annotations

import pytest

from cli.durations import DurationError, duration_format, duration_parse


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("1h", 3600), ("1h30m", 5400), ("90s", 90), ("2d", 172800), ("45", 45),
     (" 2H ", 7200), ("1h0m5s", 3605)],
)  # fmt: skip
def test_durations_in_the_usual_units_are_understood(text: str, seconds: int) -> None:
    assert duration_parse(text) == seconds


@pytest.mark.parametrize("text", ["", "m", "-5m", "0m", "0", "30x", "1.5h", "30m1h", "1h1h"])
def test_nonsense_and_zero_durations_are_refused(text: str) -> None:
    with pytest.raises(DurationError):
        duration_parse(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (12.9, "12s"), (250, "4m 10s"), (3900, "1h 5m"), (90061, "1d 1h"), (-4, "0s")],
)
def test_time_left_shows_the_two_largest_units(seconds: float, text: str) -> None:
    assert duration_format(seconds) == text

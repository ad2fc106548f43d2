"""The period of an export or report, as operators type it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from controlplane.audit.export.period import moment_parse, period_parse, rfc3339

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("now", NOW),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T09:30:00Z", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
        ("2026-11-01T10:30:00+01:00", datetime(2026, 11, 1, 9, 30, tzinfo=UTC)),
    ],
)
def test_relative_and_iso_8601_moments(text: str, expected: datetime) -> None:
    assert moment_parse(text, now=NOW) == expected


def test_without_bounds_the_period_is_the_whole_log_until_now() -> None:
    period = period_parse(since=None, until=None, now=NOW)

    assert (period.since.year, period.until) == (1970, NOW)


@pytest.mark.parametrize("text", ["last tuesday", "7 days", "-1d", "2026-13-01"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        moment_parse(text, now=NOW)


def test_an_empty_or_backwards_period_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        period_parse(since="1d", until="2d", now=NOW)


def test_times_are_written_as_the_log_writes_them() -> None:
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"

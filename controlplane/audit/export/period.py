"""The period an export or a report covers: ``[since, until)``, from ISO 8601 or relative
text (``7d``, ``12h``, ``30m``, ``now``) as operators type it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError

RELATIVE = re.compile(r"^(\d+)([smhdw])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime

    def label(self) -> str:
        return f"{rfc3339(self.since)} – {rfc3339(self.until)}"


def period_parse(*, since: str | None, until: str | None, now: datetime) -> Period:
    """The period from ``since`` (default: the log's beginning) to ``until`` (default now).
    A relative value counts back from ``now``: ``--since 7d`` is the last seven days."""
    start = moment_parse(since, now=now) if since else datetime(1970, 1, 1, tzinfo=UTC)
    end = moment_parse(until, now=now) if until else now
    if end <= start:
        raise ValidationError(f"the period is empty: until {rfc3339(end)} is not after since")
    return Period(start, end)


def moment_parse(text: str, *, now: datetime) -> datetime:
    """``now``, a relative ``<n><s|m|h|d|w>`` before now, or an ISO 8601 time (UTC if no
    offset is given)."""
    text = text.strip()
    if text == "now":
        return now
    relative = RELATIVE.match(text)
    if relative:
        return now - timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{text!r} is neither ISO 8601 nor relative like 7d") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``, as the log writes times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

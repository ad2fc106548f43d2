"""Template filters for the console: durations and time left, in words people read."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def duration_text(seconds: int | float) -> str:
    """90 → "1 min 30 s"; 7200 → "2 h"."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((hours, "h"), (minutes, "min"), (secs, "s")) if n]
    return " ".join(parts) or "0 s"


@register.filter
def time_left(until: datetime) -> str:
    """How long from now until ``until`` ("ended" once past)."""
    seconds = (until - timezone.now()).total_seconds()
    return duration_text(seconds) if seconds > 0 else "ended"

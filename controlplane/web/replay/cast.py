"""A terminal session's recording as asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/),
built from its ``terminal.output`` and ``terminal.resize`` audit events.

The recording format (no producer yet; SSH and Kubernetes exec sessions will write it): one
audit event per chunk of output, ``terminal.output`` with payload ``{"v": 1, "t": seconds
since the session started, "data": the text as the client saw it, masked}``, and one
``terminal.resize`` per window size, ``{"v": 1, "t": ..., "cols": int, "rows": int}`` (the
first one sizes the recording). An event without "v" is read as version 1. Being audit
events, the recording is in the tamper-evident log like everything else, and never holds
unmasked PII (the producer masks before it records).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from controlplane.audit.models import AuditEvent
from dataplane.contract import Action

logger = logging.getLogger(__name__)

CAST_CONTENT_TYPE = "application/x-asciicast"
RECORDING_FORMAT = 1
DEFAULT_SIZE = (80, 24)
# Terminal sizes beyond this are not believed (a bad producer must not make the player
# allocate a huge screen).
MAX_SIZE = 1000


def terminal_events(events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
    """A session's recording events in log order."""
    terminal = (Action.TERMINAL_OUTPUT, Action.TERMINAL_RESIZE)
    return events.filter(action__in=terminal).order_by("seq")


def session_cast(*, session_id: str, events: QuerySet[AuditEvent]) -> Iterator[str]:
    """The asciicast v2 lines (header first) of the session's terminal recording."""
    rows = list(terminal_events(events).values_list("seq", "action", "payload", "occurred_at"))
    frames = [frame for frame in (_frame(*row) for row in rows) if frame is not None]
    width, height = _first_size(frames)
    header: dict[str, Any] = {"version": 2, "width": width, "height": height}
    if rows:
        header["timestamp"] = int(rows[0][3].timestamp())
    header["title"] = f"Gatehouse session {session_id}"
    yield json.dumps(header) + "\n"
    for frame in frames:
        yield json.dumps(frame, ensure_ascii=False) + "\n"


def _frame(seq: int, action: str, payload: Any, _at: Any) -> list[Any] | None:
    """One asciicast event ``[t, code, data]``, or None (logged) for a malformed one."""
    try:
        return _parsed(action, payload)
    except (KeyError, TypeError, ValueError) as error:
        logger.warning("terminal event seq=%s is malformed and left out: %s", seq, error)
        return None


def _parsed(action: str, payload: Any) -> list[Any]:
    version = payload.get("v", RECORDING_FORMAT)
    if version != RECORDING_FORMAT:
        raise ValueError(f"unknown recording format {version!r}")
    t = round(float(payload["t"]), 6)
    if t < 0:
        raise ValueError("negative time")
    if action == Action.TERMINAL_OUTPUT:
        data = payload["data"]
        if not isinstance(data, str):
            raise TypeError("data is not text")
        return [t, "o", data]
    cols, lines = _size(payload["cols"]), _size(payload["rows"])
    return [t, "r", f"{cols}x{lines}"]


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_SIZE:
        raise ValueError(f"terminal size {value!r} is not 1..{MAX_SIZE}")
    return value


def _first_size(frames: Iterable[list[Any]]) -> tuple[int, int]:
    for _t, code, data in frames:
        if code == "r":
            cols, lines = data.split("x")
            return int(cols), int(lines)
    return DEFAULT_SIZE

"""The audit log as CSV for spreadsheets: one row per entry, flat columns.

Choices: UTF-8 *with* a byte-order mark (``utf-8-sig``) because spreadsheet programs guess a
legacy code page without one and mangle names; RFC 4180 quoting with CRLF line ends; every
text cell that a spreadsheet would read as a formula (first character ``= + - @``, tab or
carriage return) gets a leading apostrophe, so an attacker-chosen statement or name in the
log cannot run as a formula on the auditor's machine (CWE-1236). The ``payload`` column is
the entry's payload as compact JSON; the bundle's ``entries.jsonl`` stays the evidence.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

COLUMNS = (
    "seq", "time", "source", "agent", "agent_seq", "action", "actor", "on_behalf_of",
    "resource", "protocol", "session", "summary", "payload",
)  # fmt: skip
ENCODING = "utf-8-sig"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SUMMARY_LIMIT = 200


def formula_safe(cell: str) -> str:
    """``cell`` with a leading apostrophe when a spreadsheet would evaluate it."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def csv_row(entry: Mapping[str, Any]) -> list[str]:
    """The CSV cells of one leaf document, in ``COLUMNS`` order, formula-safe."""
    payload = entry.get("payload") or {}
    cells = [
        str(entry["seq"]),
        str(entry["time"]),
        str(entry.get("source") or ""),
        str(entry.get("agent") or ""),
        "" if entry.get("agent_seq") is None else str(entry["agent_seq"]),
        str(entry["action"]),
        principal_label(entry.get("actor")),
        principal_label(entry.get("on_behalf_of")),
        str(entry.get("resource") or ""),
        str(entry.get("protocol") or ""),
        str(entry.get("session") or ""),
        summary(entry),
        json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")),
    ]
    return [formula_safe(cell) for cell in cells]


def principal_label(principal: Mapping[str, Any] | None) -> str:
    """``name (kind sub)`` — readable, and still exact enough to filter on the sub."""
    if not principal:
        return ""
    name, kind, sub = principal.get("name") or "", principal.get("kind") or "", principal.get("sub")
    return f"{name} ({kind} {sub})" if sub else f"{name} ({kind})"


def summary(entry: Mapping[str, Any]) -> str:
    """A one-line human reading of the entry (the statement, the refusal reason, ...)."""
    payload = entry.get("payload") or {}
    for key in SUMMARY_KEYS:
        if payload.get(key):
            text = " ".join(str(payload[key]).split())
            return text[:SUMMARY_LIMIT]
    return ""


# The first payload field that says what happened, by how often it is the telling one.
SUMMARY_KEYS = ("statement", "message", "reason", "identity_name", "requester_name", "method")


class CsvView:
    """``entries.csv`` written one entry at a time (constant memory, one pass)."""

    def __init__(self, path: Path) -> None:
        self._file: IO[str] = path.open("w", encoding=ENCODING, newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(COLUMNS)
        self.count = 0

    def add(self, entry: Mapping[str, Any]) -> None:
        self._writer.writerow(csv_row(entry))
        self.count += 1

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> CsvView:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

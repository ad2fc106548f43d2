"""What a statement's audit event shows of its result, without I/O: the columns (name, type),
and, in a masked session only, its first few rows exactly as the client received them.

Only the inspecting relay feeds a ResultSample, so an ordinary session pays nothing. The
ResultMasker feeds it the rows after masking: the audit trail never holds a value the
masking profile did not see first. A guarded session without masking records columns only
(``ResultSample(rows=0)``): its values are unmasked and never sampled.

    sample = ResultSample(rows=3)
    sample.describe(columns)                # each RowDescription (the first one wins)
    if sample.open: sample.row(columns, masked_data_row_body)
    shape = sample.take(text)               # at the statement's end: columns and rows, reset

Rows are kept at a statement text's first run in the session only: a statement run again and
again (pgbench, an ORM's lookups) would otherwise have its sample redacted for the audit on
every run; the first run shows what it returns.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from dataplane.protocols.postgres.wire import pgtypes
from dataplane.protocols.postgres.wire.result_bodies import Column

SAMPLE_ROWS: Final = 3
# Cells longer than this are cut (with "…"): a sample shows what a value looks like.
CELL_LIMIT: Final = 200
# More columns than this are not sampled, and only this many are named: the event stays small.
MAX_COLUMNS: Final = 64
# Distinct statement texts one session samples; texts new after that record columns only.
SAMPLED_TEXTS: Final = 256

_INT16 = struct.Struct("!h")
_INT32 = struct.Struct("!i")

# Binary values of these types are text: shown as such; other binary values are not decoded.
_TEXT_IN_BINARY: Final = pgtypes.TEXT_LIKE | {pgtypes.JSON}

Cell = str | None


@dataclass(frozen=True, slots=True)
class ResultColumn:
    """One result column as the audit trail names it."""

    name: str
    type_oid: int

    @property
    def type_name(self) -> str:
        return pgtypes.TYPE_NAMES.get(self.type_oid, "")


@dataclass(frozen=True, slots=True)
class ResultShape:
    """A statement's columns and its sampled (masked) rows; both empty when unknown."""

    columns: tuple[ResultColumn, ...] = ()
    rows: tuple[tuple[Cell, ...], ...] = ()


NO_SHAPE: Final = ResultShape()


class ResultSample:
    """Collects one statement's result shape at a time (see the module docstring)."""

    __slots__ = ("_columns", "_rows", "_sampled", "_wanted", "open")

    def __init__(self, rows: int) -> None:
        self._wanted = rows
        self._columns: tuple[Column, ...] | None = None
        self._rows: list[tuple[Cell, ...]] = []
        self._sampled: set[int] = set()  # hashes of the statement texts sampled so far
        self.open = rows > 0  # still wants rows: the relay's one check per DataRow

    def describe(self, columns: tuple[Column, ...]) -> None:
        """A RowDescription: the statement's first result set names its columns."""
        if self._columns is None:
            self._columns = columns
            if len(columns) > MAX_COLUMNS:
                self.open = False

    def row(self, columns: tuple[Column, ...], body: bytes) -> None:
        """A DataRow body as sent to the client; rows of a later result set are skipped."""
        self.describe(columns)
        if columns != self._columns or not self.open:
            return
        self._rows.append(_cells(columns, body))
        self.open = len(self._rows) < self._wanted

    def take(self, text: str) -> ResultShape:
        """The shape of the statement ``text`` that just finished (its rows only at the
        text's first run), and a fresh start for the next statement."""
        columns, rows = self._columns, self._rows
        self._columns, self._rows = None, []
        self.open = self._wanted > 0
        if columns is None:
            return NO_SHAPE
        named = tuple(ResultColumn(name, type_oid) for name, type_oid, _ in columns)
        if rows and self._first_run(text):
            return ResultShape(named[:MAX_COLUMNS], tuple(rows))
        return ResultShape(named[:MAX_COLUMNS])

    def _first_run(self, text: str) -> bool:
        key = hash(text)
        if key in self._sampled or len(self._sampled) >= SAMPLED_TEXTS:
            return False
        self._sampled.add(key)
        return True


def _cells(columns: tuple[Column, ...], body: bytes) -> tuple[Cell, ...]:
    """The values of a DataRow as short texts (None for NULL); a malformed row gives none."""
    cells: list[Cell] = []
    try:
        offset = 2 if _INT16.unpack_from(body)[0] == len(columns) else -1
        for _name, type_oid, format_code in columns if offset > 0 else ():
            (size,) = _INT32.unpack_from(body, offset)
            offset += 4
            raw = body[offset : offset + max(size, 0)]
            offset += max(size, 0)
            cells.append(None if size < 0 else _cell(raw, type_oid, format_code))
    except struct.error:
        return ()
    return tuple(cells)


def _cell(raw: bytes, type_oid: int, format_code: int) -> str:
    if format_code == pgtypes.BINARY_FORMAT and type_oid not in _TEXT_IN_BINARY:
        return f"<binary, {len(raw)} bytes>"
    if type_oid == pgtypes.BYTEA:
        return f"<bytea, {len(raw)} bytes>"
    text = raw[: CELL_LIMIT * 4].decode("utf-8", "replace")
    return text if len(text) <= CELL_LIMIT else text[: CELL_LIMIT - 1] + "…"

"""Masking the rows of COPY ... TO STDOUT, in text and CSV format.

CopyOutResponse says "text" (0) or "binary" (1) but not whether text means the text or the
CSV format, nor the delimiter, quote, escape or NULL string; those are options of the COPY
statement, so they are read from its SQL (`copy_format`). A COPY whose options cannot be
found in the SQL (a COPY run inside a function, say) is read with the text format's
defaults: the fields may then be split wrongly, but every field is still scanned as text,
so an entity is still masked (fail closed), only the row's layout may suffer.

Fields are decoded (backslash escapes, CSV quotes), each is masked with mask_text (the
column name is unknown: ""), and a field that changed is encoded again (re-escaped, or
quoted in CSV); unchanged fields keep their original bytes. NULL fields stay NULL.

PostgreSQL sends one row per CopyData message, but a row split across messages is held
until its end arrives (`CopyRows.feed` returns b"" meanwhile), and what is left at CopyDone
is masked whole as text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from dataplane.masking.values import MaskingFailed

MaskText = Callable[[str, str], str]


@dataclass(frozen=True, slots=True)
class CopyFormat:
    csv: bool = False
    delimiter: str = "\t"
    null: str = "\\N"
    quote: str = '"'
    escape: str = '"'


TEXT_DEFAULTS = CopyFormat()
CSV_DEFAULTS = CopyFormat(csv=True, delimiter=",", null="")

_TO_STDOUT = re.compile(r"\bto\s+stdout\b", re.IGNORECASE)
_FORMAT = re.compile(r"\bformat\s+'?(\w+)'?|\b(csv|binary)\b", re.IGNORECASE)
_STRING_OPTION = re.compile(
    r"\b(delimiter|null|quote|escape)\s+(?:as\s+)?([eE]?)'((?:[^']|'')*)'", re.IGNORECASE
)


def copy_format(sql: str, index: int = 0) -> CopyFormat:
    """The format of the `index`-th COPY ... TO STDOUT in `sql` (text defaults if absent)."""
    segments = [_options_segment(sql, match.end()) for match in _TO_STDOUT.finditer(sql)]
    if index >= len(segments):
        return TEXT_DEFAULTS
    return _parse_options(segments[index])


def _options_segment(sql: str, start: int) -> str:
    """The options after TO STDOUT: up to the end of the statement (a ';' outside quotes)."""
    quoted = False
    for position in range(start, len(sql)):
        char = sql[position]
        if char == "'":
            quoted = not quoted
        elif char == ";" and not quoted:
            return sql[start:position]
    return sql[start:]


def _parse_options(options: str) -> CopyFormat:
    named = (match.group(1) or match.group(2) for match in _FORMAT.finditer(options))
    csv = any(name.lower() == "csv" for name in named)
    values: dict[str, str] = {}
    for match in _STRING_OPTION.finditer(options):
        literal = match.group(3).replace("''", "'")
        values[match.group(1).lower()] = unescape_text(literal) if match.group(2) else literal
    base = CSV_DEFAULTS if csv else TEXT_DEFAULTS
    quote = values.get("quote", base.quote)
    return CopyFormat(
        csv=csv,
        delimiter=values.get("delimiter", base.delimiter),
        null=values.get("null", base.null),
        quote=quote,
        escape=values.get("escape", quote),
    )


# -- the text format -------------------------------------------------------------------------
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))", re.DOTALL)
_CONTROL = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _unescape_one(match: re.Match[str]) -> str:
    octal, hexadecimal, char = match.groups()
    if octal is not None:
        return chr(int(octal, 8))
    if hexadecimal is not None:
        return chr(int(hexadecimal, 16))
    return str(_CONTROL.get(char, char))


def unescape_text(field: str) -> str:
    """A text-format field (or an E'' string) with its backslash escapes decoded."""
    return _ESCAPE.sub(_unescape_one, field) if "\\" in field else field


def _escape_table(delimiter: str) -> dict[int, str]:
    table = {ord("\\"): "\\\\", ord(delimiter): "\\" + delimiter}
    for letter, char in _CONTROL.items():
        table[ord(char)] = "\\" + letter
    return table


def split_text_fields(line: str, delimiter: str) -> list[str]:
    """A text-format row's fields, still escaped (an escaped delimiter does not split)."""
    if "\\" not in line:
        return line.split(delimiter)
    fields, start, position, size = [], 0, 0, len(line)
    while position < size:
        char = line[position]
        if char == "\\":
            position += 2
            continue
        if char == delimiter:
            fields.append(line[start:position])
            start = position + 1
        position += 1
    fields.append(line[start:])
    return fields


# -- the CSV format --------------------------------------------------------------------------
@dataclass(slots=True)
class _CsvField:
    raw: str
    value: str
    quoted: bool


def _quoted_field(text: str, start: int, fmt: CopyFormat) -> tuple[str, int] | None:
    """A quoted CSV field from its opening quote: (value, end after the closing quote)."""
    quote, escape = fmt.quote, fmt.escape
    parts: list[str] = []
    position = start + 1
    while True:
        end = text.find(quote, position)
        if escape != quote:
            escaped = text.find(escape, position)
            if 0 <= escaped < end and escaped + 1 < len(text):
                parts.append(text[position:escaped] + text[escaped + 1])
                position = escaped + 2
                continue
        if end < 0:
            return None
        if escape == quote and text.startswith(quote, end + 1):
            parts.append(text[position : end + 1])
            position = end + 2
            continue
        parts.append(text[position:end])
        return "".join(parts), end + 1


def _unquoted_end(text: str, start: int, delimiter: str) -> int:
    ends = [at for at in (text.find(delimiter, start), text.find("\n", start)) if at >= 0]
    return min(ends) if ends else len(text)


def split_csv_row(text: str, start: int, fmt: CopyFormat) -> tuple[list[_CsvField], int] | None:
    """The fields of the CSV row at `start` and where its line ends (after the newline), or
    None when the row is not complete yet."""
    fields: list[_CsvField] = []
    position, size = start, len(text)
    while True:
        if text.startswith(fmt.quote, position):
            quoted = _quoted_field(text, position, fmt)
            if quoted is None:
                return None
            value, end = quoted
            fields.append(_CsvField(text[position:end], value, True))
        else:
            end = _unquoted_end(text, position, fmt.delimiter)
            fields.append(_CsvField(text[position:end], text[position:end], False))
        if end >= size:
            return None
        if text[end] == "\n":
            return fields, end + 1
        if not text.startswith(fmt.delimiter, end):
            raise MaskingFailed("a malformed CSV row cannot be inspected")
        position = end + len(fmt.delimiter)


# -- rows of one COPY ------------------------------------------------------------------------
class CopyRows:
    """The rows of one COPY TO STDOUT, masked field by field as CopyData arrives."""

    def __init__(self, fmt: CopyFormat, mask_text: MaskText) -> None:
        self.format = fmt
        self._mask = mask_text
        self._held = b""
        self._escapes = _escape_table(fmt.delimiter)

    def feed(self, data: bytes) -> bytes:
        """The CopyData payload to send for `data`: its complete rows, masked."""
        if self._held:
            data, self._held = self._held + data, b""
        text = data.decode("utf-8", "surrogateescape")
        rows, consumed = self._csv_rows(text) if self.format.csv else self._text_rows(text)
        if consumed < len(text):
            self._held = text[consumed:].encode("utf-8", "surrogateescape")
        return rows.encode("utf-8", "surrogateescape")

    def finish(self) -> bytes:
        """At CopyDone: an unterminated last row, masked whole as text."""
        held, self._held = self._held, b""
        if not held:
            return b""
        text = held.decode("utf-8", "surrogateescape")
        return self._mask("", text).encode("utf-8", "surrogateescape")

    def _text_rows(self, text: str) -> tuple[str, int]:
        end = text.rfind("\n") + 1
        lines = text[:end].split("\n")[:-1]
        return "".join(self._text_row(line) + "\n" for line in lines), end

    def _text_row(self, line: str) -> str:
        fmt = self.format
        fields = split_text_fields(line, fmt.delimiter)
        return fmt.delimiter.join(self._text_field(field) for field in fields)

    def _text_field(self, field: str) -> str:
        if field == self.format.null:
            return field
        value = unescape_text(field)
        masked = self._mask("", value)
        return field if masked == value else masked.translate(self._escapes)

    def _csv_rows(self, text: str) -> tuple[str, int]:
        out: list[str] = []
        position = 0
        while (row := split_csv_row(text, position, self.format)) is not None:
            fields, position = row
            out.append(self.format.delimiter.join(map(self._csv_field, fields)) + "\n")
        return "".join(out), position

    def _csv_field(self, field: _CsvField) -> str:
        fmt = self.format
        if not field.quoted and field.raw == fmt.null:
            return field.raw
        masked = self._mask("", field.value)
        if masked == field.value:
            return field.raw
        return fmt.quote + _csv_escaped(masked, fmt) + fmt.quote


def _csv_escaped(value: str, fmt: CopyFormat) -> str:
    if fmt.escape != fmt.quote:
        value = value.replace(fmt.escape, fmt.escape + fmt.escape)
    return value.replace(fmt.quote, fmt.escape + fmt.quote)

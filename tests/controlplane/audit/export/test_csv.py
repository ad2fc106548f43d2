"""CSV view of the audit log: one row per entry, flat columns, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from controlplane.audit.export.csv import COLUMNS, CsvView, csv_row, formula_safe
from tests.controlplane.audit.export.entries import ALICE, entry, statement


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def test_each_entry_is_one_row_with_flat_columns(tmp_path: Path) -> None:
    path = tmp_path / "entries.csv"
    with CsvView(path) as view:
        view.add(statement("SELECT name\nFROM   customers", tags=["SELECT 2"]))
        view.add(
            entry("grant.created", seq=42, resource="appdb", payload={"identity_name": "alice"})
        )

    rows = _read(path)
    assert list(rows[0]) == list(COLUMNS)
    assert [row["seq"] for row in rows] == ["41", "42"]
    first = rows[0]
    assert (first["source"], first["agent"], first["agent_seq"]) == ("agent", "edge-1", "7")
    assert first["actor"] == "agent-smith (service_account 5a5a5a5a-smith)"
    assert first["on_behalf_of"] == f"alice (user {ALICE['sub']})"
    assert first["summary"] == "SELECT name FROM customers"
    assert json.loads(first["payload"])["command_tags"] == ["SELECT 2"]
    assert (rows[1]["agent"], rows[1]["agent_seq"], rows[1]["on_behalf_of"]) == ("", "", "")


def test_the_file_starts_with_a_byte_order_mark_so_spreadsheets_read_utf8(tmp_path: Path) -> None:
    path = tmp_path / "entries.csv"
    with CsvView(path) as view:
        view.add(entry("identity.signed_in", actor={"sub": "1", "kind": "user", "name": "zoë"}))

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfseq,time,")
    assert "zoë (user 1)".encode() in raw
    assert b"\r\n" in raw  # RFC 4180 line ends


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_a_spreadsheet_would_evaluate_gets_a_leading_quote(cell: str) -> None:
    assert formula_safe(cell) == "'" + cell


def test_harmless_cells_are_left_alone() -> None:
    assert formula_safe("SELECT 1") == "SELECT 1"
    assert formula_safe("") == ""


def test_an_attacker_chosen_statement_cannot_become_a_formula() -> None:
    row = dict(zip(COLUMNS, csv_row(statement("=cmd|' /C calc'!A0", tags=[])), strict=True))

    assert row["summary"] == "'=cmd|' /C calc'!A0"
    assert row["payload"].startswith("{")


def test_a_name_starting_with_a_formula_character_is_quoted() -> None:
    actor = {"sub": "", "kind": "user", "name": "@evil"}
    row = dict(zip(COLUMNS, csv_row(entry("identity.signed_in", actor=actor)), strict=True))

    assert row["actor"] == "'@evil (user)"

"""The result sample a statement's audit event carries: columns always (inspected sessions),
and the first rows only as the ResultMasker sent them to the client, masked.

Driven through a real ResultMasker with the real MaskingEngine, in real message bytes."""

from __future__ import annotations

from dataplane.protocols.postgres.wire.pgtypes import INT4, JSONB, TEXT, UUID
from dataplane.protocols.postgres.wire.result_bodies import parse_row_description
from dataplane.protocols.postgres.wire.result_sample import (
    CELL_LIMIT,
    SAMPLE_ROWS,
    SAMPLED_TEXTS,
    ResultColumn,
    ResultSample,
)
from tests.dataplane.protocols.postgres import pgbytes as pg
from tests.dataplane.protocols.postgres.test_pg_result_masking import (
    EMAIL,
    Conversation,
    bind_formats,
    typed_row_description,
)


def test_a_masked_select_samples_its_first_rows_as_the_client_got_them() -> None:
    talk = Conversation()
    talk.client(pg.query("SELECT id, email FROM customers"))
    talk.server(
        typed_row_description(("id", INT4, 0), ("email", TEXT, 0)),
        *[pg.data_row(str(i).encode(), EMAIL.encode()) for i in range(5)],
        pg.command_complete("SELECT 5"),
    )
    shape = talk.results.sample.take("q")
    assert shape.columns == (ResultColumn("id", INT4), ResultColumn("email", TEXT))
    assert [column.type_name for column in shape.columns] == ["int4", "text"]
    assert len(shape.rows) == SAMPLE_ROWS
    assert shape.rows[0] == ("0", "[EMAIL_ADDRESS]")
    assert EMAIL not in repr(shape)


def test_the_sample_starts_afresh_for_each_statement() -> None:
    talk = Conversation()
    talk.client(pg.query("SELECT email FROM a"))
    talk.server(typed_row_description(("email", TEXT, 0)), pg.data_row(b"x"))
    assert talk.results.sample.take("q").rows == (("x",),)
    assert talk.results.sample.open
    empty = talk.results.sample.take("q")
    assert empty.columns == () and empty.rows == ()


def test_rows_of_a_later_result_set_are_not_mixed_into_the_first() -> None:
    talk = Conversation()
    talk.client(pg.query("SELECT email FROM a; SELECT id, note FROM b"))
    talk.server(
        typed_row_description(("email", TEXT, 0)),
        pg.data_row(EMAIL.encode()),
        pg.command_complete("SELECT 1"),
        typed_row_description(("id", INT4, 0), ("note", TEXT, 0)),
        pg.data_row(b"1", b"hello"),
    )
    shape = talk.results.sample.take("q")
    assert [column.name for column in shape.columns] == ["email"]
    assert shape.rows == (("[EMAIL_ADDRESS]",),)


def test_a_prepared_statement_executed_without_a_new_description_is_sampled_by_its_plan() -> None:
    talk = Conversation()
    talk.client(
        pg.parse("s1", "SELECT email, id FROM customers"),
        pg.describe("S", "s1"),
        bind_formats("", "s1", (0,)),
        pg.execute(""),
        pg.sync(),
    )
    talk.server(
        pg.parse_complete(),
        pg.parameter_description(),
        typed_row_description(("email", TEXT, 0), ("id", UUID, 0)),
        pg.bind_complete(),
        pg.data_row(EMAIL.encode(), None),
        pg.command_complete("SELECT 1"),
    )
    shape = talk.results.sample.take("q")
    assert shape.rows == (("[EMAIL_ADDRESS]", None),)


def test_binary_values_are_named_not_decoded_and_long_cells_are_cut() -> None:
    sample = ResultSample(SAMPLE_ROWS)
    columns = (("profile", JSONB, 1), ("note", TEXT, 0))
    sample.row(columns, _row(b"\x01{}", b"n" * (CELL_LIMIT + 50)))
    (row,) = sample.take("q").rows
    assert row[0] == "<binary, 3 bytes>"
    assert row[1] is not None and len(row[1]) == CELL_LIMIT and row[1].endswith("…")


def test_a_sample_without_rows_wanted_records_columns_only() -> None:
    sample = ResultSample(0)
    assert not sample.open
    sample.describe(parse_row_description(typed_row_description(("email", TEXT, 0))[5:]))
    shape = sample.take("q")
    assert shape.columns == (ResultColumn("email", TEXT),) and shape.rows == ()


def test_a_malformed_row_gives_no_cells_rather_than_an_error() -> None:
    sample = ResultSample(SAMPLE_ROWS)
    sample.row((("a", TEXT, 0),), b"\x00\x01\x00\x00")
    assert sample.take("q").rows == ((),)


def _row(*values: bytes | None) -> bytes:
    return pg.data_row(*values)[5:]


def test_a_statement_run_again_keeps_its_columns_but_is_sampled_only_the_first_time() -> None:
    sample = ResultSample(SAMPLE_ROWS)
    columns = (("email", TEXT, 0),)
    shapes = []
    for _ in range(2):
        sample.row(columns, _row(b"[EMAIL_ADDRESS]"))
        shapes.append(sample.take("select email from t where id = $1"))
    assert [shape.columns for shape in shapes] == [(ResultColumn("email", TEXT),)] * 2
    assert [shape.rows for shape in shapes] == [(("[EMAIL_ADDRESS]",),), ()]
    sample.row(columns, _row(b"x"))
    assert sample.take("select email from t where id = $2").rows == (("x",),)


def test_a_session_samples_a_bounded_number_of_distinct_statements() -> None:
    sample = ResultSample(SAMPLE_ROWS)
    columns = (("n", INT4, 0),)
    sampled = 0
    for i in range(SAMPLED_TEXTS + 10):
        sample.row(columns, _row(b"1"))
        sampled += bool(sample.take(f"select {i}").rows)
    assert sampled == SAMPLED_TEXTS

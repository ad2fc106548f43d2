"""Statement texts and error messages are redacted before they reach the audit log."""

from dataplane.masking.audit_text import (
    CACHEABLE_LENGTH,
    AuditTextMasker,
    default_masker,
    mask_sample_rows,
    mask_statement_text,
)
from dataplane.masking.engine import MaskingEngine, MaskResult
from dataplane.masking.strategies import REDACTED, MaskingPolicy


class CountingEngine(MaskingEngine):
    """The real engine, counting how often it is asked."""

    calls = 0

    def mask(self, text: str, policy: MaskingPolicy | None = None, context: str = "") -> MaskResult:
        self.calls += 1
        return super().mask(text, policy, context)


class BrokenEngine(MaskingEngine):
    def mask(self, text: str, policy: MaskingPolicy | None = None, context: str = "") -> MaskResult:
        raise RuntimeError("engine bug")


def test_values_in_a_statement_are_redacted() -> None:
    text = "insert into customers values ('a@b.com', '4111 1111 1111 1111', '536-22-8726')"
    assert mask_statement_text(text) == (
        "insert into customers values ('[EMAIL_ADDRESS]', '[CREDIT_CARD]', '[US_SSN]')"
    )


def test_values_echoed_by_an_error_message_are_redacted() -> None:
    message = "Key (email)=(alice@example.com) already exists."
    assert mask_statement_text(message) == "Key (email)=([EMAIL_ADDRESS]) already exists."


def test_a_statement_without_values_is_unchanged() -> None:
    text = "select id, name from customers where id = $1"
    assert mask_statement_text(text) == text
    assert mask_statement_text("") == ""


def test_a_repeated_text_is_masked_once() -> None:
    engine = CountingEngine()
    masker = AuditTextMasker(engine)
    text = "select * from t where email = 'a@b.com'"
    assert masker(text) == masker(text) == "select * from t where email = '[EMAIL_ADDRESS]'"
    assert engine.calls == 1


def test_long_texts_are_not_kept() -> None:
    engine = CountingEngine()
    masker = AuditTextMasker(engine)
    text = "select 1 -- " + "x" * CACHEABLE_LENGTH
    masker(text)
    masker(text)
    assert engine.calls == 2


def test_the_cache_keeps_only_the_most_recent_texts() -> None:
    engine = CountingEngine()
    masker = AuditTextMasker(engine, size=2)
    for text in ("select 1", "select 2", "select 3", "select 1"):
        masker(text)
    assert engine.calls == 4


def test_an_engine_failure_redacts_the_whole_text() -> None:
    assert AuditTextMasker(BrokenEngine())("insert values ('a@b.com')") == REDACTED


def test_sample_rows_are_redacted_cell_by_cell_in_one_uncached_scan() -> None:
    rows = (("1", "ada@example.com", None), ("2", "", "536-22-8714"))
    masked = mask_sample_rows(rows)
    assert masked == [["1", "[EMAIL_ADDRESS]", None], ["2", "", "[US_SSN]"]]
    before = len(default_masker()._recent)
    mask_sample_rows((("someone.new@example.org",),))
    assert len(default_masker()._recent) == before  # the statement-text cache is left alone


def test_when_the_joined_scan_loses_the_cells_each_cell_is_scanned_alone() -> None:
    # A failing engine redacts the joined text whole (one piece for three cells): the
    # fallback scans each cell, and each comes back redacted in its place.
    masked = mask_sample_rows((("a", None), ("b", "c")), AuditTextMasker(BrokenEngine()))
    assert masked == [[REDACTED, None], [REDACTED, REDACTED]]

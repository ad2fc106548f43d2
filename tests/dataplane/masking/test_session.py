"""SessionMasker: what each result value of a masked session becomes, and what is counted."""

import dataclasses
import json

import pytest

from dataplane.contract import MaskingProfile
from dataplane.contract.snapshot import CustomPattern
from dataplane.masking.engine import MaskingEngine
from dataplane.masking.precheck import Precheck
from dataplane.masking.profile import ProfileCache, compile_profile
from dataplane.masking.recognizer import Recognizer
from dataplane.masking.session import JSON_REDACTED, SessionMasker, masker_for
from dataplane.masking.strategies import REDACTED
from dataplane.masking.values import MaskingFailed, ValueMasker

KEY = "ab" * 32
CACHE = ProfileCache()


class SteppingClock:
    """Every reading is `step` seconds after the previous one: masking time without sleeps."""

    def __init__(self, step: float) -> None:
        self.step, self.now, self.readings = step, 0.0, 0

    def __call__(self) -> float:
        self.readings += 1
        self.now += self.step
        return self.now


def masker(clock: SteppingClock | None = None, **fields: object) -> SessionMasker:
    compiled = CACHE.get(MaskingProfile("test", **fields), KEY)  # type: ignore[arg-type]
    return SessionMasker(compiled, clock or SteppingClock(0.0))


def raising_masker(on_failure: str = "redact") -> SessionMasker:
    """A masker whose only recogniser's validator raises on every 3-digit run."""

    def boom(value: str) -> bool:
        raise RuntimeError("validator bug")

    engine = MaskingEngine([Recognizer("X", "boom", "[0-9]{3}", validator=boom)])
    compiled = compile_profile(MaskingProfile("test", on_failure=on_failure), KEY)
    broken = dataclasses.replace(
        compiled, engine=engine, precheck=Precheck(engine.recognizers, None)
    )
    return SessionMasker(broken)


def test_a_session_masker_is_a_value_masker() -> None:
    value_masker: ValueMasker = masker()
    assert value_masker.mask_text("c", "") == ""


# Text values


def test_values_are_scanned_and_masked_by_the_policy() -> None:
    m = masker(strategies={"US_SSN": "partial"})
    assert m.mask_text("note", "mail alice@example.com") == "mail [EMAIL_ADDRESS]"
    assert m.mask_text("note", "ssn 536-22-8726") == "ssn ***-**-8726"
    assert m.mask_text("name", "Alice Johnson") == "Alice Johnson"


def test_a_column_named_by_a_rule_is_masked_whole_whatever_it_holds() -> None:
    m = masker(column_rules={"ssn": "US_SSN"})
    assert m.mask_text("SSN", "not an ssn at all") == "[US_SSN]"
    assert m.mask_text("other", "not an ssn at all") == "not an ssn at all"
    assert m.statement_finished().counts == {"US_SSN": 1}


@pytest.mark.parametrize("column", ["date_of_birth", "dob", "birth_date", "DateOfBirth"])
def test_a_birth_column_is_context_for_the_date_in_it(column: str) -> None:
    assert masker().mask_text(column, "1985-01-02") == "[DATE_OF_BIRTH]"


def test_a_date_in_another_column_is_no_birth_date() -> None:
    assert masker().mask_text("created_at", "1985-01-02") == "1985-01-02"


def test_deny_list_terms_and_custom_patterns_apply() -> None:
    pattern = CustomPattern("emp", "EMPLOYEE_ID", r"EMP-[0-9]{6}")
    m = masker(deny_list=("Project Falcon",), custom_patterns=(pattern,))
    assert m.mask_text("t", "project falcon") == "[DENY_LIST]"
    assert m.mask_text("t", "EMP-123456") == "[EMPLOYEE_ID]"


# JSON values


def test_json_string_values_are_masked_and_the_document_reserialised_compactly() -> None:
    doc = '{"name": "Alice", "contact": {"email": "alice@example.com"}, "n": 1}'
    masked = masker().mask_json("doc", doc)
    assert masked == '{"name":"Alice","contact":{"email":"[EMAIL_ADDRESS]"},"n":1}'


def test_a_json_document_with_nothing_to_mask_is_sent_as_the_server_wrote_it() -> None:
    doc = '{"name": "Alice",   "n": [1, 2]}'
    assert masker().mask_json("doc", doc) == doc


def test_a_json_key_is_context_for_its_value() -> None:
    assert masker().mask_json("doc", '{"dob": "1985-01-02"}') == '{"dob":"[DATE_OF_BIRTH]"}'


def test_json_key_rules_mask_by_key_path() -> None:
    m = masker(json_key_rules={"*.ssn": "US_SSN"})
    assert m.mask_json("doc", '{"customer": {"ssn": "n/a"}}') == '{"customer":{"ssn":"[US_SSN]"}}'


def test_escaped_characters_are_masked_once_decoded() -> None:
    assert masker().mask_json("doc", '["alice\\u0040example.com"]') == '["[EMAIL_ADDRESS]"]'


def test_invalid_json_is_masked_as_text() -> None:
    assert masker().mask_json("doc", "{mail: a@b.com") == "{mail: [EMAIL_ADDRESS]"


def test_a_json_column_named_by_a_rule_becomes_a_json_string() -> None:
    masked = masker(column_rules={"profile": "PERSON"}).mask_json("profile", '{"a": 1}')
    assert json.loads(masked) == "[PERSON]"


# Typed values


def test_a_typed_value_holding_an_entity_must_be_null() -> None:
    m = masker()
    assert m.must_null("address", "10.1.2.3")
    assert m.must_null("dob", "1985-01-02")
    assert not m.must_null("created_at", "1985-01-02")
    assert not m.must_null("amount", "42")
    assert not m.must_null("amount", "")
    assert m.statement_finished().counts == {"IP_ADDRESS": 1, "DATE_OF_BIRTH": 1}


def test_a_typed_value_in_a_ruled_column_must_be_null() -> None:
    m = masker(column_rules={"salary": "SALARY"})
    assert m.must_null("salary", "120000")
    assert m.statement_finished().counts == {"SALARY": 1}


# Failures


def test_a_value_over_the_size_cap_is_failed_unscanned() -> None:
    m = masker(max_value_bytes=16)
    assert m.mask_text("t", "x" * 16) == "x" * 16
    assert m.mask_text("t", "é" * 9) == REDACTED  # 9 characters, 18 bytes
    assert m.must_null("t", "1" * 17)
    assert m.mask_json("t", json.dumps(["a" * 20])) == JSON_REDACTED
    tally = m.statement_finished()
    assert (tally.failed, tally.failures) == (3, {"too_large": 3})


def test_once_the_budget_is_spent_every_further_value_fails_unscanned() -> None:
    clock = SteppingClock(step=0.002)  # each scan takes 2 ms by this clock
    m = masker(clock, statement_budget_ms=1)
    assert m.mask_text("t", "mail a@b.com") == "mail [EMAIL_ADDRESS]"  # spends 2 ms of 1
    readings = clock.readings
    assert m.mask_text("t", "mail c@d.com") == REDACTED
    assert m.mask_text("t", "Alice") == REDACTED
    assert m.must_null("n", "42")
    assert clock.readings == readings  # nothing more was scanned
    tally = m.statement_finished()
    assert tally.counts == {"EMAIL_ADDRESS": 1}
    assert tally.failures == {"budget": 3}


def test_the_next_statement_gets_a_fresh_budget() -> None:
    m = masker(SteppingClock(step=0.002), statement_budget_ms=1)
    m.mask_text("t", "mail a@b.com")
    m.mask_text("t", "mail a@b.com")
    assert m.statement_finished().failed == 1
    assert m.mask_text("t", "mail a@b.com") == "mail [EMAIL_ADDRESS]"


def test_values_the_precheck_skips_spend_no_budget() -> None:
    clock = SteppingClock(step=1.0)
    m = masker(clock, statement_budget_ms=1)
    for _ in range(100):
        assert m.mask_text("name", "Alice") == "Alice"
    assert clock.readings == 0


def test_under_redact_an_engine_failure_becomes_the_marker() -> None:
    m = raising_masker()
    assert m.mask_text("t", "id 123") == REDACTED
    assert m.must_null("t", "123")
    assert m.mask_json("t", '{"id": "123"}') == JSON_REDACTED
    tally = m.statement_finished()
    assert (tally.failed, tally.failures, tally.statement_ended) == (3, {"error": 3}, False)


def test_under_error_a_failure_ends_the_statement() -> None:
    m = raising_masker("error")
    with pytest.raises(MaskingFailed) as failed:
        m.mask_text("t", "id 123")
    assert failed.value.reason == "error"
    tally = m.statement_finished()
    assert tally.statement_ended and tally.failures == {"error": 1}


def test_under_error_a_too_large_value_ends_the_statement() -> None:
    m = masker(on_failure="error", max_value_bytes=4)
    with pytest.raises(MaskingFailed, match="too_large"):
        m.must_null("n", "12345")


def test_an_uncompilable_profile_fails_every_value() -> None:
    broken = MaskingProfile("broken", custom_patterns=(CustomPattern("x", "X", "(a+)+"),))
    m = masker_for(broken, KEY)
    assert m.mask_text("name", "Alice") == REDACTED
    assert m.mask_json("doc", '{"a": 1}') == JSON_REDACTED
    assert m.must_null("n", "1")
    assert m.mask_text("name", "") == ""
    assert m.statement_finished().failures == {"profile_unusable": 3}


def test_an_uncompilable_error_profile_ends_every_statement() -> None:
    broken = MaskingProfile("broken", on_failure="error", entities=("NOPE",))
    with pytest.raises(MaskingFailed, match="profile_unusable"):
        masker_for(broken, KEY).mask_text("name", "Alice")


# Tallies


def test_tallies_are_per_statement_and_summed_for_the_session() -> None:
    m = masker()
    m.mask_text("t", "a@b.com and c@d.com")
    first = m.statement_finished()
    assert first.counts == {"EMAIL_ADDRESS": 2}
    m.mask_text("t", "10.1.2.3")
    m.mask_text("t", "é" * 2_000_000)  # over the default 1 MiB cap
    in_progress = m.session_tally()
    assert in_progress.counts == {"EMAIL_ADDRESS": 2, "IP_ADDRESS": 1}
    second = m.statement_finished()
    assert second.counts == {"IP_ADDRESS": 1} and second.failed == 1
    assert m.statement_finished().counts == {}
    total = m.session_tally()
    assert total.counts == {"EMAIL_ADDRESS": 2, "IP_ADDRESS": 1}
    assert total.failures == {"too_large": 1}


def test_sessions_of_one_profile_share_its_compiled_engine() -> None:
    profile = MaskingProfile("shared", deny_list=("zebra",))
    assert masker_for(profile, KEY).compiled is masker_for(profile, KEY).compiled


def test_a_json_document_nested_too_deep_to_parse_fails_closed() -> None:
    m = masker()
    deep = "[" * 100_000 + '"a@b.com"' + "]" * 100_000
    assert m.mask_json("doc", deep) == JSON_REDACTED
    assert m.statement_finished().failures == {"error": 1}

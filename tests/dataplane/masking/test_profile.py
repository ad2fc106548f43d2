"""A snapshot's masking profile compiled into engine and policy, cached, failing closed."""

import json

import pytest

from dataplane.contract import MaskingProfile, Snapshot
from dataplane.contract.snapshot import CustomPattern
from dataplane.masking.profile import (
    VALIDATORS,
    ProfileCache,
    ProfileError,
    check_pattern,
    compile_profile,
)
from dataplane.masking.recognizers import validators
from dataplane.masking.strategies import pseudonym

KEY = "ab" * 32


def with_luhn_digit(body: str) -> str:
    return next(body + d for d in "0123456789" if validators.luhn(body + d))


def loyalty_card() -> CustomPattern:
    return CustomPattern("loyalty", "LOYALTY_CARD", r"LC[0-9]{12}", validator="luhn")


def test_every_validator_the_contract_names_is_in_the_registry() -> None:
    from dataplane.contract.masking import CUSTOM_PATTERN_VALIDATORS

    assert set(CUSTOM_PATTERN_VALIDATORS) == set(VALIDATORS)


def test_entities_limit_detection_to_the_named_ones() -> None:
    compiled = compile_profile(MaskingProfile("ai", entities=("EMAIL_ADDRESS",)), KEY)
    assert {r.entity for r in compiled.engine.recognizers} == {"EMAIL_ADDRESS"}
    masked = compiled.engine.mask("a@b.com ssn 536-22-8726", compiled.policy).text
    assert masked == "[EMAIL_ADDRESS] ssn 536-22-8726"


def test_no_entities_means_every_built_in_recognizer() -> None:
    compiled = compile_profile(MaskingProfile("ai"), KEY)
    masked = compiled.engine.mask("a@b.com ssn 536-22-8726", compiled.policy).text
    assert masked == "[EMAIL_ADDRESS] ssn [US_SSN]"


def test_entities_may_name_the_deny_list_and_custom_entities() -> None:
    profile = MaskingProfile(
        "p",
        entities=("DENY_LIST", "LOYALTY_CARD"),
        deny_list=("acme",),
        custom_patterns=(loyalty_card(),),
    )
    compiled = compile_profile(profile, KEY)
    assert {r.entity for r in compiled.engine.recognizers} == {"LOYALTY_CARD"}
    assert compiled.engine.mask("acme a@b.com", compiled.policy).text == "[DENY_LIST] a@b.com"


def test_warming_compiles_a_snapshots_profiles_before_their_sessions() -> None:
    cache = ProfileCache()
    profiles = [MaskingProfile("a", entities=("US_SSN",)), MaskingProfile("b", entities=("X",))]
    cache.warm(profiles, KEY)
    assert cache.compilations == 1  # "b" cannot compile: its first session will say so
    cache.get(profiles[0], KEY)
    assert cache.compilations == 1


def test_an_unknown_entity_fails_the_profile() -> None:
    with pytest.raises(ProfileError, match="unknown entities"):
        compile_profile(MaskingProfile("ai", entities=("EMAIL_ADRESS",)), KEY)


def test_a_custom_pattern_is_kept_only_when_its_validator_accepts() -> None:
    profile = MaskingProfile("p", entities=("EMAIL_ADDRESS",), custom_patterns=(loyalty_card(),))
    compiled = compile_profile(profile, KEY)
    good = "LC" + with_luhn_digit("40128888888")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert compiled.engine.mask(f"card {good}", compiled.policy).text == "card [LOYALTY_CARD]"
    assert compiled.engine.mask(f"card {bad}", compiled.policy).text == f"card {bad}"


def test_custom_pattern_context_and_score_are_honoured() -> None:
    pattern = CustomPattern(
        "badge", "BADGE", r"B[0-9]{5}", context=("badge",), context_required=True
    )
    compiled = compile_profile(MaskingProfile("p", custom_patterns=(pattern,)), KEY)
    assert compiled.engine.mask("badge B12345", compiled.policy).text == "badge [BADGE]"
    assert compiled.engine.mask("room B12345", compiled.policy).text == "room B12345"


def test_an_unknown_validator_fails_the_profile() -> None:
    pattern = CustomPattern("x", "X", r"X[0-9]{4}", validator="luhnn")
    with pytest.raises(ProfileError, match="unknown validator 'luhnn'"):
        compile_profile(MaskingProfile("p", custom_patterns=(pattern,)), KEY)


@pytest.mark.parametrize(
    ("regex", "why"),
    [
        ("(", "invalid"),
        ("[0-9]*", "empty string"),
        ("(a+)+b", "nested repeats"),
        ("(?:[a-z]+[0-9]*)*x", "nested repeats"),
        ("(?<=id )[0-9]{4}", "lookaround"),
        ("([0-9])\\1", "backreferences"),
        ("x" * 1001, "longer than"),
    ],
)
def test_invalid_or_unsafe_regexes_are_refused(regex: str, why: str) -> None:
    with pytest.raises(ProfileError, match=why):
        check_pattern(regex)


def test_bounded_repeats_inside_repeats_are_allowed() -> None:
    check_pattern(r"(?:[0-9]{4}[ -]?){3}[0-9]{4}")
    check_pattern(r"EMP-[0-9]+")


def test_strategies_and_key_make_the_policy() -> None:
    profile = MaskingProfile("p", default_strategy="partial", strategies={"EMAIL_ADDRESS": "hash"})
    compiled = compile_profile(profile, KEY)
    assert compiled.policy.apply("EMAIL_ADDRESS", "a@b.com") == pseudonym(
        "EMAIL_ADDRESS", "a@b.com", bytes.fromhex(KEY)
    )
    assert compiled.policy.apply("US_SSN", "536-22-8726") == "***-**-8726"


@pytest.mark.parametrize("key", ["", "not hex"])
def test_a_keyed_strategy_without_a_usable_key_fails_the_profile(key: str) -> None:
    with pytest.raises(ProfileError):
        compile_profile(MaskingProfile("p", default_strategy="hash"), key)


def test_budget_size_and_failure_mode_come_from_the_profile() -> None:
    profile = MaskingProfile("p", on_failure="error", statement_budget_ms=250, max_value_bytes=4096)
    compiled = compile_profile(profile, KEY)
    assert (compiled.fails_with_error, compiled.statement_budget_s) == (True, 0.25)
    assert compiled.max_value_bytes == 4096


def test_the_cache_compiles_a_profile_once_per_key() -> None:
    cache = ProfileCache()
    profile = MaskingProfile("ai", column_rules={"ssn": "US_SSN"}, deny_list=("acme",))
    first = cache.get(profile, KEY)
    assert cache.get(profile, KEY) is first
    assert cache.compilations == 1
    assert cache.get(profile, "cd" * 32) is not first
    assert cache.compilations == 2


def test_a_new_snapshot_with_the_same_profile_reuses_the_compiled_one() -> None:
    cache = ProfileCache()
    profile = MaskingProfile(
        "ai", strategies={"US_SSN": "partial"}, custom_patterns=(loyalty_card(),)
    )
    first = cache.get(profile, KEY)
    snapshot = Snapshot(
        1, "agent", "agent", (), (), (), masking_profiles=(profile,), masking_key=KEY
    )
    again = Snapshot.from_dict(json.loads(json.dumps(snapshot.to_dict()))).masking_profile("ai")
    assert again is not None and again is not profile
    assert cache.get(again, KEY) is first
    assert cache.compilations == 1


def test_the_cache_forgets_the_least_recently_used() -> None:
    cache = ProfileCache(size=2)
    a, b, c = (MaskingProfile(name) for name in "abc")
    first_a = cache.get(a, KEY)
    cache.get(b, KEY)
    cache.get(a, KEY)
    cache.get(c, KEY)  # b goes
    assert cache.get(a, KEY) is first_a
    cache.get(b, KEY)
    assert cache.compilations == 4


def test_an_uncompilable_profile_becomes_the_unusable_one() -> None:
    pattern = CustomPattern("x", "X", r"(a+)+")
    compiled = ProfileCache().compiled_or_unusable(
        MaskingProfile("broken", custom_patterns=(pattern,), on_failure="error"), KEY
    )
    assert not compiled.usable
    assert compiled.fails_with_error

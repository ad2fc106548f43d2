"""Configuration from the environment is typed, and a bad value fails loudly, by name."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_bool, env_choice, env_int, env_list, env_secret, env_str


def test_unset_or_empty_variables_take_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GH_TEST", raising=False)
    assert env_str("GH_TEST", "fallback") == "fallback"
    monkeypatch.setenv("GH_TEST", "")
    assert env_int("GH_TEST", 7) == 7
    assert env_bool("GH_TEST", True) is True
    assert env_list("GH_TEST", ["a"]) == ["a"]


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("no", False), ("0", False)]
)
def test_booleans_accept_the_usual_spellings(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool
) -> None:
    monkeypatch.setenv("GH_TEST", raw)
    assert env_bool("GH_TEST", not expected) is expected


def test_a_boolean_that_is_neither_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEHOUSE_DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_DEBUG must be true or false"):
        env_bool("GATEHOUSE_DEBUG", False)


def test_a_non_integer_fails_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_TOKEN_TTL_SECONDS", "15m")
    with pytest.raises(
        ImproperlyConfigured, match="GATEHOUSE_TOKEN_TTL_SECONDS must be an integer"
    ):
        env_int("GATEHOUSE_TOKEN_TTL_SECONDS", 900)


def test_integers_outside_their_bounds_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_TOKEN_TTL_SECONDS", "90000")
    with pytest.raises(ImproperlyConfigured, match="at most 86400"):
        env_int("GATEHOUSE_TOKEN_TTL_SECONDS", 900, minimum=1, maximum=86400)
    monkeypatch.setenv("GATEHOUSE_TOKEN_TTL_SECONDS", "0")
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("GATEHOUSE_TOKEN_TTL_SECONDS", 900, minimum=1, maximum=86400)


def test_lists_are_comma_separated_and_trimmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_ALLOWED_HOSTS", " gatehouse.example.com , localhost,")
    assert env_list("GATEHOUSE_ALLOWED_HOSTS", []) == ["gatehouse.example.com", "localhost"]


def test_choices_are_case_insensitive_and_others_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_LOG_LEVEL", "debug")
    assert env_choice("GATEHOUSE_LOG_LEVEL", "INFO", ["DEBUG", "INFO"]) == "DEBUG"
    monkeypatch.setenv("GATEHOUSE_LOG_LEVEL", "chatty")
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_LOG_LEVEL must be one of"):
        env_choice("GATEHOUSE_LOG_LEVEL", "INFO", ["DEBUG", "INFO"])


def test_a_secret_is_read_from_the_file_named_by_its_FILE_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-a-file\n")
    monkeypatch.delenv("GH_SECRET", raising=False)
    monkeypatch.setenv("GH_SECRET_FILE", str(secret_file))
    assert env_secret("GH_SECRET") == "from-a-file"


def test_a_secret_set_both_directly_and_by_file_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("GH_SECRET", "direct")
    monkeypatch.setenv("GH_SECRET_FILE", str(tmp_path / "secret"))
    with pytest.raises(ImproperlyConfigured, match="either GH_SECRET or GH_SECRET_FILE"):
        env_secret("GH_SECRET")


def test_an_unreadable_secret_file_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("GH_SECRET", raising=False)
    monkeypatch.setenv("GH_SECRET_FILE", str(tmp_path / "missing"))
    with pytest.raises(ImproperlyConfigured, match="GH_SECRET_FILE: cannot read"):
        env_secret("GH_SECRET")


def test_a_required_secret_that_is_missing_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GH_SECRET", raising=False)
    monkeypatch.delenv("GH_SECRET_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match=r"GH_SECRET \(or GH_SECRET_FILE\) is required"):
        env_secret("GH_SECRET", required=True)

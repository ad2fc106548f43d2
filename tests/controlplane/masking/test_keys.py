"""GATEHOUSE_MASKING_KEY(_FILE): 64 hex digits or nothing; a bad value stops the start
with a message that never repeats it."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.keys import masking_key_from_env

KEY = "0123456789abcdef" * 4


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEHOUSE_MASKING_KEY", raising=False)
    monkeypatch.delenv("GATEHOUSE_MASKING_KEY_FILE", raising=False)


def test_unset_means_generated(monkeypatch: pytest.MonkeyPatch) -> None:
    assert masking_key_from_env() == ""


def test_a_hex_key_is_read_lowercased(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_MASKING_KEY", KEY.upper())
    assert masking_key_from_env() == KEY


def test_a_key_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "masking.key"
    path.write_text(KEY + "\n")
    monkeypatch.setenv("GATEHOUSE_MASKING_KEY_FILE", str(path))
    assert masking_key_from_env() == KEY


@pytest.mark.parametrize("bad", ["abcd", "zz" * 32, KEY + "00"])
def test_a_bad_key_fails_loudly_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("GATEHOUSE_MASKING_KEY", bad)
    with pytest.raises(ImproperlyConfigured) as caught:
        masking_key_from_env()
    assert bad not in str(caught.value)

"""SECRET_KEY and the Fernet keys are checked at start."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.keys import (
    DEVELOPMENT_SECRET_KEY,
    fernet_keys_from_env,
    secret_key_from_env,
)


@pytest.fixture(autouse=True)
def _clean(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "GATEHOUSE_SECRET_KEY",
        "GATEHOUSE_SECRET_KEY_FILE",
        "GATEHOUSE_ENCRYPTION_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_secret_key_is_required_outside_debug() -> None:
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_SECRET_KEY"):
        secret_key_from_env(debug=False)


def test_debug_falls_back_to_a_fixed_development_key_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="development key"):
        assert secret_key_from_env(debug=True) == DEVELOPMENT_SECRET_KEY


def test_a_set_secret_key_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEHOUSE_SECRET_KEY", "k" * 50)
    assert secret_key_from_env(debug=False) == "k" * 50


def test_several_encryption_keys_are_read_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("GATEHOUSE_ENCRYPTION_KEY", f"{new}, {old}")
    assert fernet_keys_from_env() == (new, old)


def test_the_encryption_key_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEHOUSE_ENCRYPTION_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_ENCRYPTION_KEY"):
        fernet_keys_from_env()


def test_an_invalid_encryption_key_is_named_by_position_but_never_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = Fernet.generate_key().decode()
    monkeypatch.setenv("GATEHOUSE_ENCRYPTION_KEY", f"{good},not-a-fernet-key")
    with pytest.raises(ImproperlyConfigured, match="key #2 is not a valid Fernet key") as raised:
        fernet_keys_from_env()
    assert "not-a-fernet-key" not in str(raised.value)

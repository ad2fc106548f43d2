"""Secrets at rest are Fernet-encrypted; keys rotate by prepending a new one."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pytest_django import Settings

from controlplane.crypto import UndecryptableSecret, decrypt, encrypt


def test_encrypting_then_decrypting_returns_the_text(settings: Settings, fernet_key: str) -> None:
    settings.GATEHOUSE_ENCRYPTION_KEYS = (fernet_key,)
    ciphertext = encrypt("pä$$wörd")
    assert "pä$$wörd" not in ciphertext
    assert decrypt(ciphertext) == "pä$$wörd"


def test_after_rotation_old_ciphertexts_still_decrypt_and_new_ones_use_the_new_key(
    settings: Settings,
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.GATEHOUSE_ENCRYPTION_KEYS = (old,)
    written_before = encrypt("upstream-pw")
    settings.GATEHOUSE_ENCRYPTION_KEYS = (new, old)
    assert decrypt(written_before) == "upstream-pw"
    written_after = encrypt("upstream-pw")
    assert Fernet(new.encode()).decrypt(written_after.encode()) == b"upstream-pw"


def test_a_ciphertext_no_configured_key_opens_fails_with_a_clear_error(settings: Settings) -> None:
    settings.GATEHOUSE_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    ciphertext = encrypt("upstream-pw")
    settings.GATEHOUSE_ENCRYPTION_KEYS = (Fernet.generate_key().decode(),)
    with pytest.raises(UndecryptableSecret, match="GATEHOUSE_ENCRYPTION_KEY"):
        decrypt(ciphertext)

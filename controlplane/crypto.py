"""Encryption at rest for secrets the control plane must be able to read back.

Upstream passwords and token signing keys are encrypted with the Fernet keys from
GATEHOUSE_ENCRYPTION_KEY (MultiFernet: the first key encrypts, every key decrypts, so keys
rotate by prepending a new one).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class UndecryptableSecret(Exception):
    """A stored ciphertext that none of the configured keys opens."""


def encrypt(plaintext: str) -> str:
    """Encrypt text with the newest key; the result is ASCII, safe for a text column."""
    return (
        _multi_fernet(tuple(settings.GATEHOUSE_ENCRYPTION_KEYS))
        .encrypt(plaintext.encode("utf-8"))
        .decode("ascii")
    )


def decrypt(ciphertext: str) -> str:
    """Decrypt text written by :func:`encrypt` with any configured key."""
    try:
        plaintext = _multi_fernet(tuple(settings.GATEHOUSE_ENCRYPTION_KEYS)).decrypt(
            ciphertext.encode("ascii")
        )
    except InvalidToken:
        raise UndecryptableSecret(
            "a stored secret cannot be decrypted with any key in GATEHOUSE_ENCRYPTION_KEY "
            "(was a key removed before everything was re-encrypted?)"
        ) from None
    return plaintext.decode("utf-8")


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])

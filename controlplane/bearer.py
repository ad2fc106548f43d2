"""Bearer secrets (API keys, agent tokens): shown once, stored only as a hash.

A secret reads ``<scheme>_<prefix>_<random>``. The prefix is public: it is stored in clear,
indexed, and used to find the row; the whole secret is compared by hash in constant time.

The hash is a single SHA-256, not a slow password hash, on purpose: the random part holds
256 bits from the OS CSPRNG, so there is nothing to brute-force, and a deliberately slow
hash would only cost CPU on every authenticated request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

PREFIX_LENGTH = 12  # hex characters
RANDOM_BYTES = 32


@dataclass(frozen=True)
class IssuedSecret:
    prefix: str
    hashed: str
    plaintext: str = field(repr=False)


def issue(scheme: str) -> IssuedSecret:
    """A fresh secret for ``scheme`` (e.g. "gh" for API keys)."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    plaintext = f"{scheme}_{prefix}_{secrets.token_urlsafe(RANDOM_BYTES)}"
    return IssuedSecret(prefix=prefix, hashed=hash_secret(plaintext), plaintext=plaintext)


def hash_secret(plaintext: str) -> str:
    """Hex SHA-256 of the whole secret (see the module docstring for why a fast hash)."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def prefix_of(presented: str, scheme: str) -> str | None:
    """The lookup prefix of a presented secret, or None if it is not shaped like one."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != scheme or len(parts[1]) != PREFIX_LENGTH or not parts[2]:
        return None
    return parts[1]


def matches(presented: str, hashed: str) -> bool:
    """Whether ``presented`` is the secret whose hash is ``hashed`` (constant time)."""
    return hmac.compare_digest(hash_secret(presented), hashed)

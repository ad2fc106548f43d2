"""Bearer secrets are shown once and stored only as a prefix and a hash."""

from __future__ import annotations

import hashlib

from controlplane import bearer


def test_an_issued_secret_reads_scheme_prefix_random() -> None:
    issued = bearer.issue("gh")
    scheme, prefix, random = issued.plaintext.split("_", 2)
    assert (scheme, prefix) == ("gh", issued.prefix)
    assert len(prefix) == bearer.PREFIX_LENGTH
    assert len(random) >= 43  # 32 random bytes, url-safe base64


def test_the_stored_hash_is_sha256_of_the_whole_secret_and_never_the_secret() -> None:
    issued = bearer.issue("gh")
    assert issued.hashed == hashlib.sha256(issued.plaintext.encode()).hexdigest()
    assert issued.plaintext not in repr(issued)


def test_only_the_exact_secret_matches() -> None:
    issued = bearer.issue("gh")
    assert bearer.matches(issued.plaintext, issued.hashed)
    assert not bearer.matches(issued.plaintext + "x", issued.hashed)


def test_prefixes_are_read_only_from_well_formed_secrets_of_the_expected_scheme() -> None:
    issued = bearer.issue("gha")
    assert bearer.prefix_of(issued.plaintext, "gha") == issued.prefix
    assert bearer.prefix_of(issued.plaintext, "gh") is None
    assert bearer.prefix_of("gha_short_abc", "gha") is None
    assert bearer.prefix_of("garbage", "gha") is None
    assert bearer.prefix_of(f"gha_{issued.prefix}_", "gha") is None

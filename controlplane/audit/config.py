"""The tamper-evident log's settings from the environment (called by controlplane.settings).

``GATEHOUSE_LOG_ORIGIN``            the log's name in checkpoints (default gatehouse.local/audit)
``GATEHOUSE_LOG_SIGNING_KEY[_FILE]`` Ed25519 private key: base64 of the 32-byte seed, PKCS#8
                                    PEM, or a ``PRIVATE+KEY+<name>+<id>+<key>`` note key.
                                    Unset: the control plane generates one at first start and
                                    keeps it encrypted with GATEHOUSE_ENCRYPTION_KEY.
``GATEHOUSE_LOG_RETIRED_KEYS``       vkeys of earlier log keys, comma-separated (listed by
                                    /api/v1/audit/keys so old checkpoints keep verifying).
``GATEHOUSE_LOG_WITNESSES``          ``<URL> <witness vkey>`` pairs, comma-separated.
``GATEHOUSE_LOG_CHECKPOINT_SECONDS`` / ``_ENTRIES``: sign when the tree grew and this long
                                    passed or this many entries arrived (defaults 1 and 1000).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_int, env_list, env_secret, env_str
from ledger.cosignature import CosignatureVerifier
from ledger.note import NoteError, Signer, Verifier, check_key_name

DEFAULT_ORIGIN = "gatehouse.local/audit"


@dataclass(frozen=True)
class Witness:
    """A witness the log submits its checkpoints to (C2SP tlog-witness)."""

    url: str
    verifier: CosignatureVerifier


@dataclass(frozen=True)
class LogConfig:
    origin: str = DEFAULT_ORIGIN
    # repr=False: settings get printed (diffsettings, error pages); the key must not be.
    signing_key: Ed25519PrivateKey | None = field(default=None, repr=False)
    retired_keys: tuple[Verifier, ...] = ()
    witnesses: tuple[Witness, ...] = ()
    checkpoint_seconds: int = 1
    checkpoint_entries: int = 1000

    def env_signer(self) -> Signer | None:
        """The configured key as a note signer under the origin, or None (generated keys)."""
        return Signer(self.origin, self.signing_key) if self.signing_key else None


def log_config_from_env() -> LogConfig:
    """Every GATEHOUSE_LOG_* variable, checked; a bad one stops the process at start."""
    origin = env_str("GATEHOUSE_LOG_ORIGIN", DEFAULT_ORIGIN).strip()
    try:
        check_key_name(origin)
    except NoteError:
        raise ImproperlyConfigured(
            f"GATEHOUSE_LOG_ORIGIN must be non-empty without spaces or '+', not {origin!r}"
        ) from None
    return LogConfig(
        origin=origin,
        signing_key=_signing_key(env_secret("GATEHOUSE_LOG_SIGNING_KEY")),
        retired_keys=tuple(
            _verifier("GATEHOUSE_LOG_RETIRED_KEYS", Verifier, vkey)
            for vkey in env_list("GATEHOUSE_LOG_RETIRED_KEYS", [])
        ),
        witnesses=tuple(_witness(item) for item in env_list("GATEHOUSE_LOG_WITNESSES", [])),
        checkpoint_seconds=env_int("GATEHOUSE_LOG_CHECKPOINT_SECONDS", 1, minimum=1),
        checkpoint_entries=env_int("GATEHOUSE_LOG_CHECKPOINT_ENTRIES", 1000, minimum=1),
    )


def _signing_key(raw: str) -> Ed25519PrivateKey | None:
    text = raw.strip()
    if not text:
        return None
    try:
        return _parse_signing_key(text)
    except (ValueError, TypeError, binascii.Error, NoteError):
        # Never echo the value: it is the log's private key.
        raise ImproperlyConfigured(
            "GATEHOUSE_LOG_SIGNING_KEY is not an Ed25519 private key (base64 of the 32-byte "
            "seed, PKCS#8 PEM, or PRIVATE+KEY+name+id+key)"
        ) from None


def _parse_signing_key(text: str) -> Ed25519PrivateKey:
    if text.startswith("-----BEGIN"):
        key = load_pem_private_key(text.encode("ascii"), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("not an Ed25519 key")
        return key
    if text.startswith("PRIVATE+KEY+"):
        return Signer.from_skey(text).private_key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def _verifier(variable: str, kind: type[Verifier], vkey: str) -> Verifier:
    try:
        return kind.from_vkey(vkey)
    except NoteError as exc:
        raise ImproperlyConfigured(f"{variable}: {vkey!r} is not a usable vkey: {exc}") from None


def _witness(item: str) -> Witness:
    url, _, vkey = item.strip().partition(" ")
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or not vkey.strip():
        raise ImproperlyConfigured(
            f"GATEHOUSE_LOG_WITNESSES: {item!r} is not '<http(s) URL> <witness vkey>'"
        )
    verifier = _verifier("GATEHOUSE_LOG_WITNESSES", CosignatureVerifier, vkey.strip())
    assert isinstance(verifier, CosignatureVerifier)
    return Witness(url=url.rstrip("/"), verifier=verifier)

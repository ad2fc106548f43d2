"""The control plane's own keys: Django's SECRET_KEY and the Fernet keys for data at rest."""

from __future__ import annotations

import warnings

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from controlplane.config.env import env_secret

# Only ever used with GATEHOUSE_DEBUG=true; anything signed with it is forgeable.
DEVELOPMENT_SECRET_KEY = "gatehouse-development-only-insecure-secret-key-do-not-deploy"

FERNET_KEY_HINT = (
    "each key must be 32 url-safe base64-encoded bytes; generate one with "
    '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`'
)


def secret_key_from_env(*, debug: bool) -> str:
    """GATEHOUSE_SECRET_KEY; required unless debugging, where a fixed dev key is used."""
    key = env_secret("GATEHOUSE_SECRET_KEY")
    if key:
        return key
    if not debug:
        raise ImproperlyConfigured(
            "GATEHOUSE_SECRET_KEY (or GATEHOUSE_SECRET_KEY_FILE) is required "
            "unless GATEHOUSE_DEBUG=true"
        )
    warnings.warn(
        "GATEHOUSE_SECRET_KEY is unset: using a fixed development key (GATEHOUSE_DEBUG=true)",
        stacklevel=2,
    )
    return DEVELOPMENT_SECRET_KEY


def fernet_keys_from_env() -> tuple[str, ...]:
    """GATEHOUSE_ENCRYPTION_KEY: comma-separated Fernet keys, newest first.

    The first key encrypts; every key decrypts. Rotating means prepending a new key and
    keeping the old ones until everything stored has been re-encrypted.
    """
    raw = env_secret("GATEHOUSE_ENCRYPTION_KEY", required=True)
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    if not keys:
        raise ImproperlyConfigured("GATEHOUSE_ENCRYPTION_KEY holds no key")
    for position, key in enumerate(keys, start=1):
        _check_fernet_key(position, key)
    return keys


def _check_fernet_key(position: int, key: str) -> None:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        # Never echo the value: it is (nearly) a secret even when malformed.
        raise ImproperlyConfigured(
            f"GATEHOUSE_ENCRYPTION_KEY: key #{position} is not a valid Fernet key; "
            + FERNET_KEY_HINT
        ) from None


MASKING_KEY_BYTES = 32


def masking_key_from_env() -> str:
    """GATEHOUSE_MASKING_KEY(_FILE): the deployment's masking key as 64 hex digits (32
    bytes), lowercased; "" when unset (then the control plane makes and stores one)."""
    raw = env_secret("GATEHOUSE_MASKING_KEY").strip().lower()
    if raw == "":
        return ""
    try:
        size = len(bytes.fromhex(raw))
    except ValueError:
        size = -1
    if size != MASKING_KEY_BYTES:
        # Never echo the value.
        raise ImproperlyConfigured(
            "GATEHOUSE_MASKING_KEY must be 64 hex digits (32 bytes); generate one with "
            '`python -c "import secrets; print(secrets.token_hex(32))"`'
        )
    return raw

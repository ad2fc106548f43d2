"""The deployment's masking key: one per deployment, the same on every agent.

Taken from GATEHOUSE_MASKING_KEY(_FILE) when set; otherwise 32 random bytes made on first
use and stored Fernet-encrypted (like upstream passwords). Only agent snapshots read it: it
appears in no API response, log line or audit payload.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction

from controlplane.audit.services import audit_event_record
from controlplane.crypto import decrypt, encrypt
from controlplane.masking.actions import MaskingAction
from controlplane.masking.models import MaskingKey

KEY_BYTES = 32


def masking_key_hex() -> str:
    """The masking key as hex: the configured one, else the stored one, made if missing."""
    configured: str = getattr(settings, "GATEHOUSE_MASKING_KEY", "")
    if configured:
        return configured
    stored = MaskingKey.objects.filter(pk=MaskingKey.SINGLETON).first()
    return decrypt((stored or masking_key_generate()).ciphertext)


def masking_key_generate() -> MaskingKey:
    """Make and store the key unless one exists (two first uses racing get one key);
    records ``masking_key.created`` (never the key) when it made it."""
    with transaction.atomic():
        key, created = MaskingKey.objects.get_or_create(
            pk=MaskingKey.SINGLETON,
            defaults={"ciphertext": encrypt(secrets.token_hex(KEY_BYTES))},
        )
        if created:
            audit_event_record(
                actor=None, action=MaskingAction.MASKING_KEY_CREATED, payload={"bytes": KEY_BYTES}
            )
    return key

"""Signing checkpoints of the audit log, and the keys that sign them.

One checkpoint per tree size, whichever replica gets there first: the signer takes a
transaction-level advisory lock on PostgreSQL (skipping the round if another replica holds
it; SQLite serialises writers) and ``Checkpoint.size`` is unique besides. The key is
GATEHOUSE_LOG_SIGNING_KEY when set; otherwise one generated at first use and kept encrypted
like the token signing keys. Every key that ever signed stays in ``LogKey`` for verification.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
)
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.models import Checkpoint, LogKey
from controlplane.audit.sequencer import frontier_load, log_size
from controlplane.audit.services import audit_event_record
from controlplane.crypto import decrypt, encrypt
from ledger.checkpoint import Checkpoint as CheckpointBody
from ledger.checkpoint import sign_checkpoint
from ledger.note import Signer

if TYPE_CHECKING:
    from controlplane.identities.models import User

# pg_try_advisory_xact_lock key for the signer: the sequencer's key plus one.
SIGNER_LOCK_KEY = 0x6761746568F57574
# The signer loop polls this often; a checkpoint is due this much before its interval ends,
# so "at least every N seconds" holds with the poll's delay included.
SIGNER_POLL_SECONDS = 0.1


class LogKeyRotationRefused(Exception):
    """The log key comes from GATEHOUSE_LOG_SIGNING_KEY: rotate it there."""


def checkpoint_sign(*, now: datetime | None = None) -> Checkpoint | None:
    """Sign a checkpoint of the tree if it grew and one is due (the interval passed or
    enough entries arrived), and hand it to the witnesses after commit. Returns it, or None
    when none was due or another replica is signing. Safe to call from every replica."""
    now = now or timezone.now()
    if not _due(Checkpoint.objects.order_by("-size").first(), log_size(), now):
        return None  # checked first without a write lock: the loop polls ten times a second
    with transaction.atomic():
        if not _signer_lock_try():
            return None
        size, latest = log_size(), Checkpoint.objects.order_by("-size").first()
        if not _due(latest, size, now):
            return None
        checkpoint = _checkpoint_create(size, now)
        transaction.on_commit(lambda: _witnesses_notify(checkpoint))
    return checkpoint


def log_signer() -> Signer:
    """The key that signs new checkpoints, recorded in ``LogKey`` on first use."""
    configured = settings.GATEHOUSE_LOG.env_signer()
    if configured is not None:
        _env_key_record(configured)
        return configured
    origin = settings.GATEHOUSE_LOG.origin
    key = LogKey.objects.active().filter(source=LogKey.Source.GENERATED, name=origin).first()
    if key is None:  # first start, or the origin (the key's name) changed
        key = _generated_key_create(actor=None, action=ControlPlaneAction.LOG_KEY_CREATED)
    return Signer(key.name, _private_key(key))


def log_key_rotate(*, actor: User | None) -> LogKey:
    """Retire the generated log key and sign from now on with a new one; the old public key
    stays listed so earlier checkpoints keep verifying. Keys from the environment rotate
    by setting GATEHOUSE_LOG_SIGNING_KEY (the old one is retired at the next checkpoint)."""
    if settings.GATEHOUSE_LOG.signing_key is not None:
        raise LogKeyRotationRefused("the log key is set by GATEHOUSE_LOG_SIGNING_KEY")
    with transaction.atomic():
        return _generated_key_create(actor=actor, action=ControlPlaneAction.LOG_KEY_ROTATED)


def _signer_lock_try() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already made this the only writer
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [SIGNER_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _due(latest: Checkpoint | None, size: int, now: datetime) -> bool:
    if latest is None:
        return True  # the first checkpoint, even of the empty tree: auditors start there
    if size <= latest.size:
        return False
    config = settings.GATEHOUSE_LOG
    interval = timedelta(seconds=config.checkpoint_seconds - SIGNER_POLL_SECONDS)
    return size - latest.size >= config.checkpoint_entries or now - latest.signed_at >= interval


def _checkpoint_create(size: int, now: datetime) -> Checkpoint:
    signer = log_signer()
    body = CheckpointBody(settings.GATEHOUSE_LOG.origin, size, frontier_load(size).root())
    return Checkpoint.objects.create(
        size=size,
        root_hash=body.root_hash,
        note=sign_checkpoint(body, [signer]),
        key_id=signer.key_id.hex(),
        signed_at=now,
    )


def _witnesses_notify(checkpoint: Checkpoint) -> None:
    if settings.GATEHOUSE_LOG.witnesses:
        from controlplane.jobs.tasks import witnesses_submit_enqueue

        witnesses_submit_enqueue(checkpoint_id=checkpoint.pk)


def _env_key_record(signer: Signer) -> None:
    vkey = signer.verifier().vkey
    if LogKey.objects.filter(vkey=vkey, retired_at__isnull=True).exists():
        return
    retired = _retire_active_keys()
    LogKey.objects.create(
        name=signer.name,
        key_id=signer.key_id.hex(),
        vkey=vkey,
        source=LogKey.Source.ENVIRONMENT,
    )
    audit_event_record(
        actor=None,
        action=ControlPlaneAction.LOG_KEY_CREATED,
        payload={"vkey": vkey, "source": LogKey.Source.ENVIRONMENT, "retired": retired},
    )


def _generated_key_create(*, actor: User | None, action: ControlPlaneAction) -> LogKey:
    retired = _retire_active_keys()
    signer = Signer.generate(settings.GATEHOUSE_LOG.origin)
    key = LogKey.objects.create(
        name=signer.name,
        key_id=signer.key_id.hex(),
        vkey=signer.verifier().vkey,
        source=LogKey.Source.GENERATED,
        private_key_ciphertext=encrypt(_pem(signer.private_key)),
    )
    audit_event_record(
        actor=actor,
        action=action,
        payload={"vkey": key.vkey, "source": key.source, "retired": retired},
    )
    return key


def _retire_active_keys() -> list[str]:
    active = LogKey.objects.active().select_for_update()
    retired = list(active.values_list("vkey", flat=True))
    active.update(retired_at=timezone.now())
    return retired


def _pem(private_key: Ed25519PrivateKey) -> str:
    return private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def _private_key(key: LogKey) -> Ed25519PrivateKey:
    loaded = load_pem_private_key(decrypt(key.private_key_ciphertext).encode(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise TypeError(f"log key {key.key_id} is not an Ed25519 key")
    return loaded

"""Checkpoints: signed C2SP notes over the tree, one per size, by the log key, whose
earlier public keys stay published after a rotation."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from controlplane.agents.services import IssuedAgent
from controlplane.audit.checkpoints import (
    LogKeyRotationRefused,
    checkpoint_sign,
    log_key_rotate,
    log_signer,
)
from controlplane.audit.config import LogConfig, log_config_from_env
from controlplane.audit.log import checkpoint_latest, log_keys_list, log_tree_size, root_build
from controlplane.audit.models import AuditEvent, Checkpoint, LogKey
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from ledger.checkpoint import open_checkpoint
from ledger.note import Signer, UnknownKeyError, Verifier
from tests.controlplane.audit.test_log import ingest


def log_verifier() -> Verifier:
    return Verifier.from_vkey(LogKey.objects.active().get().vkey)


def test_the_first_checkpoint_is_signed_at_once_and_opens_with_the_log_key(
    edge: IssuedAgent,
) -> None:
    ingest(edge, range(1, 6))
    checkpoint = checkpoint_sign()
    assert checkpoint is not None
    body, names = open_checkpoint(checkpoint.note, [log_verifier()])
    assert names == ["gatehouse.local/audit"]
    assert (body.origin, body.size) == ("gatehouse.local/audit", checkpoint.size)
    # Creating the key is itself an audit event, so the signed size includes it.
    assert body.size == log_tree_size() - 1
    assert body.root_hash == root_build(size=body.size) == bytes(checkpoint.root_hash)


def test_nothing_is_signed_while_the_tree_has_not_grown(edge: IssuedAgent) -> None:
    checkpoint_sign()
    checkpoint_sign(now=timezone.now() + timedelta(seconds=5))  # the key-created event
    later = timezone.now() + timedelta(seconds=10)
    assert checkpoint_sign(now=later) is None


def test_a_grown_tree_is_signed_once_a_second_has_passed(edge: IssuedAgent) -> None:
    first = checkpoint_sign()
    assert first is not None
    ingest(edge, [1])
    assert checkpoint_sign(now=first.signed_at + timedelta(milliseconds=200)) is None
    second = checkpoint_sign(now=first.signed_at + timedelta(seconds=1))
    assert second is not None and second.size == log_tree_size()


@override_settings(GATEHOUSE_LOG=LogConfig(checkpoint_entries=10))
def test_a_tree_grown_by_the_entry_bound_is_signed_at_once(edge: IssuedAgent) -> None:
    first = checkpoint_sign()
    assert first is not None
    ingest(edge, range(1, 11))
    second = checkpoint_sign(now=first.signed_at)
    assert second is not None and second.size - first.size >= 10


def test_checkpoints_cannot_be_changed(edge: IssuedAgent) -> None:
    from controlplane.audit.models import AppendOnlyViolation

    checkpoint = checkpoint_sign()
    assert checkpoint is not None
    with pytest.raises(AppendOnlyViolation):
        Checkpoint.objects.filter(pk=checkpoint.pk).update(note="forged")


def test_rotation_signs_with_a_new_key_and_keeps_the_old_one_published(bob: User) -> None:
    before = checkpoint_sign()
    assert before is not None
    old = log_verifier()
    log_key_rotate(actor=bob)
    with transaction.atomic():
        audit_event_record(actor=bob, action="grant.created")
    after = checkpoint_sign(now=before.signed_at + timedelta(seconds=2))
    assert after is not None
    new = log_verifier()
    assert new.vkey != old.vkey
    open_checkpoint(before.note, [old])
    open_checkpoint(after.note, [new])
    with pytest.raises(UnknownKeyError):
        open_checkpoint(after.note, [old])
    published = {(key.vkey, key.status) for key in log_keys_list()}
    assert {(old.vkey, "retired"), (new.vkey, "active")} <= published
    rotated = AuditEvent.objects.get(action="log_key.rotated")
    assert rotated.actor_name == "bob" and rotated.payload["retired"] == [old.vkey]


def test_a_key_from_the_environment_signs_and_is_recorded_without_its_private_half(
    db: None,
) -> None:
    private = Ed25519PrivateKey.generate()
    with override_settings(GATEHOUSE_LOG=LogConfig(origin="example.org/log", signing_key=private)):
        checkpoint = checkpoint_sign()
        assert checkpoint is not None
        verifier = Signer("example.org/log", private).verifier()
        open_checkpoint(checkpoint.note, [verifier])
        with pytest.raises(LogKeyRotationRefused):
            log_key_rotate(actor=None)
    key = LogKey.objects.get(vkey=verifier.vkey)
    assert (key.source, key.private_key_ciphertext, key.retired_at) == ("environment", "", None)


def test_changing_the_environment_key_retires_the_previous_one(db: None) -> None:
    first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=first)):
        log_signer()
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=second)):
        log_signer()
    expected = Signer("gatehouse.local/audit", second).verifier().vkey
    assert LogKey.objects.active().get().vkey == expected
    assert LogKey.objects.filter(retired_at__isnull=False).count() == 1


def test_the_signing_key_is_read_as_base64_pem_or_a_note_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    for text in (base64.b64encode(seed).decode(), pem):
        monkeypatch.setenv("GATEHOUSE_LOG_SIGNING_KEY", text)
        config = log_config_from_env()
        assert config.signing_key is not None
        assert (
            config.signing_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
            == seed
        )
        assert "signing_key" not in repr(config)


def test_a_bad_signing_key_stops_the_start_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GATEHOUSE_LOG_SIGNING_KEY", "not-a-key-s3cret")
    with pytest.raises(ImproperlyConfigured) as refused:
        log_config_from_env()
    assert "s3cret" not in str(refused.value)


def test_witnesses_are_configured_as_url_and_vkey_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    from ledger.cosignature import CosignatureSigner

    witness = CosignatureSigner.generate("witness.example").verifier()
    monkeypatch.setenv("GATEHOUSE_LOG_WITNESSES", f"http://127.0.0.1:9/ {witness.vkey}")
    (configured,) = log_config_from_env().witnesses
    assert (configured.url, configured.verifier.vkey) == ("http://127.0.0.1:9", witness.vkey)
    monkeypatch.setenv("GATEHOUSE_LOG_WITNESSES", witness.vkey)
    with pytest.raises(ImproperlyConfigured, match="GATEHOUSE_LOG_WITNESSES"):
        log_config_from_env()


def test_the_latest_checkpoint_is_the_largest(edge: IssuedAgent) -> None:
    first = checkpoint_sign()
    ingest(edge, [1])
    assert first is not None
    second = checkpoint_sign(now=first.signed_at + timedelta(seconds=1))
    assert checkpoint_latest() == second


def test_the_signer_loop_and_the_beat_task_sign_when_due(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    from controlplane.jobs.tasks import log_checkpoint

    call_command("run_log_signer", "--once", stdout=StringIO(), stderr=StringIO())
    first = Checkpoint.objects.get()
    signed = log_checkpoint.apply().get()  # the key's creation is new: signed once 1 s passed
    assert signed is None or signed > first.size


def test_rotate_log_key_prints_the_new_vkey(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    log_signer()
    out = StringIO()
    call_command("rotate_log_key", stdout=out)
    assert out.getvalue().strip() == LogKey.objects.active().get().vkey
    assert LogKey.objects.count() == 2

"""Fixtures for the ledger's auditor tools: a real sample log and bundles written from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ledger.sample_log import SampleLog


@pytest.fixture
def sample_log() -> SampleLog:
    """120 persona events (alice, bob, the AI through agent-1), signed by a fresh log key."""
    return SampleLog().grow(120)


@pytest.fixture
def bundle(sample_log: SampleLog, tmp_path: Path) -> Path:
    """The whole log exported as one bundle, checkpoints every 10 entries."""
    return sample_log.export(tmp_path / "bundle")

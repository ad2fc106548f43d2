"""Microbenchmark of the audit hot path: addon -> spool append, and events frames for the link.

Not collected by pytest (no ``test_`` prefix). Run from the repository root::

    PYTHONPATH=. .venv/bin/python tests/dataplane/link/perf_audit_path.py

Each round appends EVENTS pgbench-like statements through ``AuditAddon.statement_finished``
into a real spool in a temporary directory (no awaits in between, so the writer does not run
during the timed loop), flushes, then builds the link's events frames of BATCH events from
the durable pending lines. The best of ROUNDS is printed, as the VM is shared.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dataplane.addons.audit import AuditAddon
from dataplane.contract import ResourceSpec
from dataplane.core.addons import Statement
from dataplane.core.session import Session
from dataplane.core.tokens import VerifiedIdentity
from dataplane.link.client import _events_frame
from dataplane.link.spool import Spool
from dataplane.masking.audit_text import mask_statement_text

EVENTS = 50_000
BATCH = 500
ROUNDS = 5

STATEMENT = Statement(
    text="SELECT abalance FROM pgbench_accounts WHERE aid = $1;",
    kind="extended",
    parameter_count=1,
    command_tags=("SELECT 1",),
    rows=1,
    error_code=None,
    error_message=None,
    duration_s=0.000213,
)


def pgbench_session() -> Session:
    session = Session(
        protocol="postgres", client_address="127.0.0.1:41234", requested_resource="orders"
    )
    session.identity = VerifiedIdentity(
        sub="9f1c0d4e-0000-4000-8000-000000000001",
        kind="service_account",
        name="pgbench",
        jti="j-1",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    session.resource = ResourceSpec(
        name="orders",
        protocol="postgres",
        host="127.0.0.1",
        port=5432,
        database="orders",
        upstream_user="app",
        upstream_password="pw",
    )
    return session


async def one_round(directory: Path) -> dict[str, float]:
    spool = await Spool.open(directory, memory_max_events=EVENTS)
    try:
        addon, session = AuditAddon(spool, mask_statement_text), pgbench_session()
        started = time.perf_counter()
        for _ in range(EVENTS):
            addon.statement_finished(session, STATEMENT)
        appended = time.perf_counter()
        await spool.flush()
        flushed = time.perf_counter()
        frames = build_frames(spool)
        framed = time.perf_counter()
        compressed = deflate(frames)
        deflated = time.perf_counter()
    finally:
        await spool.close()
    return {
        "addon + append": appended - started,
        "writer (flush)": flushed - appended,
        f"frames of {BATCH}": framed - flushed,
        "deflate": deflated - framed,
        "frame bytes/event": sum(len(frame) for frame in frames) / EVENTS,
        "deflated bytes/event": compressed / EVENTS,
    }


def build_frames(spool: Spool) -> list[bytes]:
    frames, cursor = [], 0
    while batch := spool.durable_pending_lines(BATCH, after=cursor):
        frames.append(_events_frame([line for _, line in batch]))
        cursor = batch[-1][0]
    assert cursor == EVENTS
    return frames


def deflate(frames: list[bytes]) -> int:
    """What permessage-deflate does per message (context kept across messages)."""
    compressor = zlib.compressobj(wbits=-15)
    size = 0
    for frame in frames:
        size += len(compressor.compress(frame) + compressor.flush(zlib.Z_SYNC_FLUSH))
    return size


def main() -> None:
    rounds = []
    for _ in range(ROUNDS):
        with tempfile.TemporaryDirectory() as directory:
            rounds.append(asyncio.run(one_round(Path(directory))))
    for name in rounds[0]:
        values = [result[name] for result in rounds]
        if "bytes" in name:
            print(f"{name:>22}: {statistics.median(values):8.1f}")
        else:
            best, median = min(values) / EVENTS * 1e6, statistics.median(values) / EVENTS * 1e6
            print(f"{name:>22}: {best:6.2f} µs/event (median {median:.2f})")


if __name__ == "__main__":
    main()

"""A clean stop (SIGTERM) ends live sessions and drops their per-session roles before the
agent exits, instead of leaving them to the reconciler at the next start."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.postgres import PostgresCluster
from tests.integration.conftest import Gateway, _start_stack
from tests.integration.test_ephemeral_roles import (
    RESOURCE,
    _account,
    _ephemeral_resource,
    _hold_session,
    _session_roles,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def ephemeral(pg: PostgresCluster, tmp_path: Path) -> Iterator[Gateway]:
    stack = _start_stack(pg, tmp_path)
    try:
        _ephemeral_resource(stack, RESOURCE, default="read-only")
        yield stack
    finally:
        stack.agent.stop()
        stack.cp.stop()


def test_sigterm_drops_the_live_sessions_role_before_the_agent_exits(ephemeral: Gateway) -> None:
    pg, token = ephemeral.pg, _account(ephemeral, "shutdown-bot", RESOURCE)
    ready, seen = threading.Event(), {}
    worker = threading.Thread(
        target=_hold_session, args=(ephemeral.dsn(RESOURCE, token=token), ready, seen)
    )
    worker.start()
    assert ready.wait(15)
    role = str(seen["role"])
    assert role in _session_roles(pg)

    agent_process = ephemeral.agent.process
    assert agent_process is not None
    started = time.monotonic()
    exit_code = agent_process.stop(sig=signal.SIGTERM, timeout_s=15)  # by its pid
    stopped_in = time.monotonic() - started
    ephemeral.agent.process = None

    assert exit_code == 0
    assert stopped_in < 5.0, "the drop is bounded by the shutdown grace"
    assert role not in _session_roles(pg)  # gone right after the process exited
    worker.join(10)
    assert "shutting down" in str(seen["error"])

    # The drop was audited by the stopping agent itself (spooled, sent after the restart).
    ephemeral.agent.start()
    dropped = ephemeral.wait_for_events(
        lambda evs: any(e["payload"]["credential"] == role for e in evs),
        action="credential.dropped",
    )
    event = next(e for e in dropped if e["payload"]["credential"] == role)
    assert "shutting down" in event["payload"]["reason"]
    assert "reconciler" not in event["payload"]["reason"]

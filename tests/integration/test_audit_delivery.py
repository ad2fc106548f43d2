"""Audit events reach the control plane once each, in order, even across its restarts."""

from __future__ import annotations

import time

import psycopg
import pytest

from tests.integration.conftest import AI_ACCOUNT, Gateway

pytestmark = pytest.mark.integration


def _agent_seqs(gateway: Gateway) -> list[int]:
    return sorted(e["agent_seq"] for e in gateway.events(agent="edge-1"))


def test_a_session_is_recorded_start_statements_end_with_identity_and_sequence(gateway):
    marker = f"seq-{time.time_ns()}"
    with psycopg.connect(gateway.dsn(), autocommit=True) as conn:
        for i in range(3):
            conn.execute(f"select {i} as {marker.replace('-', '_')}")
    events = gateway.wait_for_events(
        lambda evs: any(
            e["action"] == "session.end"
            and any(
                marker.replace("-", "_") in x["payload"].get("statement", "")
                for x in evs
                if x["session"] == e["session"]
            )
            for e in evs
        )
    )
    session = next(
        e["session"]
        for e in events
        if marker.replace("-", "_") in e["payload"].get("statement", "")
    )
    mine = [e for e in events if e["session"] == session]
    assert [e["action"] for e in mine] == ["session.start"] + ["statement"] * 3 + ["session.end"]
    assert {e["actor_name"] for e in mine} == {AI_ACCOUNT}
    seqs = [e["agent_seq"] for e in mine]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert mine[0]["payload"]["tls"] is True


def test_a_control_plane_restart_mid_session_loses_and_duplicates_no_event(fresh_gateway):
    gateway = fresh_gateway
    with psycopg.connect(gateway.dsn(), autocommit=True) as conn:
        for i in range(5):
            conn.execute(f"select {i} as before_restart")
        gateway.wait_for_events(lambda evs: len(evs) >= 6, agent="edge-1")
        gateway.cp.stop()
        # The agent keeps serving: tokens and grants are checked offline from its snapshot.
        for i in range(20):
            assert conn.execute(f"select {i} as during_outage").fetchone() == (i,)
        gateway.cp.start()
        for i in range(5):
            conn.execute(f"select {i} as after_restart")
    events = gateway.wait_for_events(
        lambda evs: (
            sum(e["action"] == "statement" for e in evs) >= 30
            and any(e["action"] == "session.end" for e in evs)
        ),
        agent="edge-1",
        timeout_s=30,
    )
    statements = [e["payload"]["statement"] for e in events if e["action"] == "statement"]
    for label, count in (("before_restart", 5), ("during_outage", 20), ("after_restart", 5)):
        assert sum(label in s for s in statements) == count, label
    seqs = _agent_seqs(gateway)
    assert seqs == list(range(1, len(seqs) + 1)), "agent sequence has a gap or a duplicate"

"""The hold desk: a held statement waits for a decision, a timeout, or its withdrawal."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from dataplane.core.holds import HoldDesk, HoldOutcome, new_hold


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    """Run an async test on a fresh event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper() -> None:
        asyncio.run(test())

    return wrapper


def _hold(session: str = "s1"):
    return new_hold(
        timeout_s=30,
        session=session,
        grant="g1",
        identity="sub",
        identity_name="alice",
        resource="appdb",
        statement="UPDATE t SET a = 1 WHERE id = 2",
        rule="hold-writes",
        reason='guardrail "hold-writes" holds UPDATE',
    )


@run
async def test_an_approval_releases_the_wait_and_the_hold_was_sent() -> None:
    desk = HoldDesk()
    hold = _hold()
    waiting = asyncio.ensure_future(desk.request(hold, timeout_s=5))
    kind, body = await desk.outbox.get()
    assert kind == "hold" and body["hold"]["statement"] == hold.statement
    assert desk.resend() == [("hold", {"hold": hold.to_dict()})]
    desk.decide(hold.id, "approved", by="bob", at="2026-11-30T12:00:00Z")
    decision = await waiting
    assert (decision.outcome, decision.by) == (HoldOutcome.APPROVED, "bob")
    assert desk.resend() == []


@run
async def test_no_decision_in_time_expires_and_withdraws() -> None:
    desk = HoldDesk()
    hold = _hold()
    decision = await desk.request(hold, timeout_s=0.05)
    assert decision.outcome is HoldOutcome.EXPIRED
    sent = [desk.outbox.get_nowait() for _ in range(desk.outbox.qsize())]
    assert sent[-1] == (
        "hold_withdrawn",
        {"id": hold.id, "reason": "the hold timed out at the agent"},
    )


@run
async def test_a_cancel_withdraws_the_sessions_holds_only() -> None:
    desk = HoldDesk()
    mine, theirs = _hold("s1"), _hold("s2")
    waiting = [asyncio.ensure_future(desk.request(h, timeout_s=5)) for h in (mine, theirs)]
    await asyncio.sleep(0)
    assert desk.withdraw_session("s1", "the client cancelled the statement") == 1
    assert (await waiting[0]).outcome is HoldOutcome.WITHDRAWN
    assert not waiting[1].done()
    desk.decide(theirs.id, "denied", by="bob")
    assert (await waiting[1]).outcome is HoldOutcome.DENIED


@run
async def test_an_unknown_decision_is_a_denial_and_strays_are_ignored() -> None:
    desk = HoldDesk()
    hold = _hold()
    waiting = asyncio.ensure_future(desk.request(hold, timeout_s=5))
    await asyncio.sleep(0)
    desk.decide("no-such-hold", "approved")
    desk.decide(hold.id, "maybe")
    assert (await waiting).outcome is HoldOutcome.DENIED


@run
async def test_a_session_that_ends_while_held_withdraws_its_hold() -> None:
    desk = HoldDesk()
    hold = _hold()
    waiting = asyncio.ensure_future(desk.request(hold, timeout_s=5))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    sent = [desk.outbox.get_nowait() for _ in range(desk.outbox.qsize())]
    assert sent[-1] == ("hold_withdrawn", {"id": hold.id, "reason": "the session ended"})


@run
async def test_a_decision_finds_its_hold_however_the_uuid_is_spelt() -> None:
    desk = HoldDesk()
    hold = _hold()
    waiting = asyncio.ensure_future(desk.request(hold, timeout_s=5))
    await asyncio.sleep(0)
    desk.decide(hold.id.replace("-", "").upper(), "approved", by="bob")
    assert (await waiting).outcome is HoldOutcome.APPROVED

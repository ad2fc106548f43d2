"""Grants of scope session and call admit exactly one session, decided at the agent alone
(no control plane) and remembered across agent restarts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dataplane.contract import GrantScope, GrantSpec
from dataplane.core.addons import Refusal, RefusalKind
from dataplane.core.consumed_grants import ConsumedGrants, ConsumedGrantsError
from dataplane.core.session import Session
from tests.dataplane.addons.test_access_and_audit import Stack, grant, run, snapshot


def single_use(scope: GrantScope, seconds: float = 60, grant_id: str = "g1") -> GrantSpec:
    return dataclasses.replace(grant(seconds, grant_id=grant_id), scope=scope)


def test_a_one_session_grant_admits_one_session_and_refuses_the_next(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> tuple[Refusal | None, Refusal | None, bool]:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        first, first_refusal, _ = await stack.connect()
        second_refusal = (await stack.connect())[1]
        return first_refusal, second_refusal, first.grant_consumed

    first, second, consumed = run(tmp_path, scenario)
    assert first is None and consumed
    assert second is not None and second.kind is RefusalKind.NO_GRANT
    assert "one-session access grant" in second.message and "already used" in second.message


def test_a_one_call_grant_says_so_when_it_was_already_used(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> Refusal | None:
        stack.config.update(snapshot(1, single_use(GrantScope.CALL)))
        await stack.connect()
        return (await stack.connect())[1]

    refusal = run(tmp_path, scenario)
    assert refusal is not None and "one-call access grant" in refusal.message


def test_the_session_ending_does_not_give_the_grant_back(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> Refusal | None:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        session, _, _ = await stack.connect()
        stack.sessions.remove(session)
        stack.chain.session_ended(session, "client disconnected")
        return (await stack.connect())[1]

    refusal = run(tmp_path, scenario)
    assert refusal is not None and "already used" in refusal.message


def test_a_consumed_grant_stays_consumed_after_an_agent_restart(tmp_path: Path) -> None:
    async def first_life(stack: Stack) -> None:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        assert (await stack.connect())[1] is None

    async def second_life(stack: Stack) -> Refusal | None:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        return (await stack.connect())[1]

    run(tmp_path, first_life)
    refusal = run(tmp_path, second_life)  # same state folder, a fresh agent
    assert refusal is not None and "already used" in refusal.message


def test_a_connection_refused_after_the_claim_gives_the_grant_back(tmp_path: Path) -> None:
    """E.g. the upstream login failed: no statement ran, so the grant is still unused."""

    async def scenario(stack: Stack) -> Refusal | None:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        session = stack.session()
        assert await stack.authorize(session) is None
        stack.chain.connection_refused(
            session, Refusal(RefusalKind.UPSTREAM_FAILED, "the gateway could not log in")
        )
        return (await stack.connect())[1]

    assert run(tmp_path, scenario) is None


def test_a_use_that_cannot_be_recorded_ends_the_session_and_keeps_the_grant_used(
    tmp_path: Path,
) -> None:
    """Fail closed: without the record on disk, a restart could admit a second session."""

    async def scenario(stack: Stack) -> tuple[list[str], bool, Refusal | None]:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        (tmp_path / "consumed-grants").unlink()
        (tmp_path / "consumed-grants").mkdir()  # appending to it now fails with OSError
        session, _, ended = await stack.connect()
        return ended, session.grant_consumed, (await stack.connect())[1]

    ended, consumed, second = run(tmp_path, scenario)
    assert ended == ["the gateway could not record the use of a single-use grant"]
    assert not consumed
    assert second is not None and "already used" in second.message


def test_an_unlimited_grant_is_used_before_a_single_use_one(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> list[str]:
        stack.config.update(
            snapshot(
                1,
                single_use(GrantScope.SESSION, seconds=600, grant_id="once"),
                grant(60, grant_id="always"),
            )
        )
        return [(await stack.connect())[0].grant.id for _ in range(3)]  # type: ignore[union-attr]

    assert run(tmp_path, scenario) == ["always", "always", "always"]


def test_a_live_single_use_session_is_kept_while_its_grant_is_in_the_snapshot(
    tmp_path: Path,
) -> None:
    async def scenario(stack: Stack) -> tuple[list[str], list[str]]:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        _, _, ended = await stack.connect()
        stack.config.update(snapshot(2, single_use(GrantScope.SESSION)))  # unrelated change
        kept = list(ended)
        stack.config.update(snapshot(3))  # the control plane ended (or revoked) the grant
        return kept, ended

    kept, ended = run(tmp_path, scenario)
    assert kept == []
    assert ended == ["access grant ended (revoked or expired)"]


def test_consumption_is_audited_and_the_session_end_names_the_grant(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> list[dict[str, Any]]:
        stack.config.update(snapshot(1, single_use(GrantScope.CALL)))
        session, _, _ = await stack.connect()
        stack.chain.session_ended(session, "terminated: the one-call access grant was used")
        return await stack.recorded()

    events = run(tmp_path, scenario)
    assert [e["action"] for e in events] == ["grant.consumed", "session.start", "session.end"]
    assert events[0]["payload"] == {"grant": "g1", "scope": "call"}
    assert events[2]["payload"]["grant"] == "g1"
    assert events[2]["payload"]["grant_scope"] == "call"


def session_on(session_id: str = "s1") -> Session:
    return Session(protocol="postgres", client_address="127.0.0.1:5555", id=session_id)


def test_the_ledger_forgets_expired_grants_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "consumed-grants"
    ledger = ConsumedGrants.open(path, now=datetime.now(UTC))
    live, old = single_use(GrantScope.SESSION, 600, "live"), single_use(GrantScope.CALL, 1, "old")
    for spec in (live, old):
        assert ledger.claim(spec)
        ledger.record(spec, session_on())
    reopened = ConsumedGrants.open(path, now=old.expires_at + timedelta(seconds=1))
    assert "live" in reopened and "old" not in reopened


def test_a_use_whose_end_was_never_noted_is_a_lost_session_at_the_next_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "consumed-grants"
    ledger = ConsumedGrants.open(path, now=datetime.now(UTC))
    ended, crashed = (
        single_use(GrantScope.SESSION, grant_id="ended"),
        single_use(GrantScope.CALL, grant_id="crashed"),
    )
    for spec, sid in ((ended, "s-ended"), (crashed, "s-crashed")):
        ledger.claim(spec)
        ledger.record(spec, session_on(sid))
    ledger.ended("ended")
    reopened = ConsumedGrants.open(path, now=datetime.now(UTC))
    assert "ended" in reopened and "crashed" in reopened
    assert [(u.grant, u.scope, u.session) for u in reopened.lost_uses] == [
        ("crashed", "call", "s-crashed")
    ]
    reopened.ended("crashed")
    assert ConsumedGrants.open(path, now=datetime.now(UTC)).lost_uses == []


def test_a_cleanly_ended_session_is_not_lost_but_an_unended_one_is(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> None:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION, grant_id="done")))
        done, _, _ = await stack.connect()
        stack.chain.session_ended(done, "client disconnected")
        stack.config.update(snapshot(2, single_use(GrantScope.CALL, grant_id="open")))
        await stack.connect()  # still live when the "agent" stops

    run(tmp_path, scenario)
    lost = ConsumedGrants.open(tmp_path / "consumed-grants", now=datetime.now(UTC)).lost_uses
    assert [(use.grant, use.scope, use.actor.name) for use in lost] == [
        ("open", "call", "agent-smith")
    ]


def test_a_lost_session_is_audited_as_ended_naming_its_grant(tmp_path: Path) -> None:
    async def first_life(stack: Stack) -> None:
        stack.config.update(snapshot(1, single_use(GrantScope.SESSION)))
        await stack.connect()  # the agent dies with this session open

    async def second_life(stack: Stack) -> list[dict[str, Any]]:
        consumed = ConsumedGrants.open(tmp_path / "consumed-grants", now=datetime.now(UTC))
        for use in consumed.lost_uses:
            stack.chain.session_lost(use)
        return await stack.recorded()

    run(tmp_path, first_life)
    events = [e for e in run(tmp_path, second_life) if e["action"] == "session.end"]
    assert len(events) == 1
    assert events[0]["payload"]["grant"] == "g1"
    assert events[0]["payload"]["grant_scope"] == "session"
    assert events[0]["payload"]["reason"].startswith("lost:")
    assert events[0]["actor"]["name"] == "agent-smith"


def test_a_torn_last_line_is_ignored_but_a_damaged_ledger_refuses_to_open(tmp_path: Path) -> None:
    path = tmp_path / "consumed-grants"
    ledger = ConsumedGrants.open(path, now=datetime.now(UTC))
    spec = single_use(GrantScope.SESSION)
    ledger.claim(spec)
    ledger.record(spec, session_on())
    with path.open("a") as file:
        file.write('{"grant": "torn", "expi')  # a crash in the middle of an append
    reopened = ConsumedGrants.open(path, now=datetime.now(UTC))
    assert "g1" in reopened and "torn" not in reopened
    path.write_text('{"format": 99}\n')
    with pytest.raises(ConsumedGrantsError):  # never read as "nothing was used"
        ConsumedGrants.open(path, now=datetime.now(UTC))

"""Statements held for approval: waiting at the agent for a human's decision.

A guardrail may hold a statement instead of denying it. The session's pump waits on
`HoldDesk.request`; the link sends the hold to the control plane, where approvers see the
exact statement in the browser; the decision comes back over the link (`decide`). The wait
is bounded by the profile's hold timeout, and the client can withdraw it (a CancelRequest,
or leaving). Fail closed everywhere: no decision in time is a denial; the control plane
being unreachable only means the wait runs out.

The desk keeps pending holds so a reconnected link sends them again (the control plane
stores each once by id and answers a decided one at once).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

log = logging.getLogger("gatehouse.holds")


class HoldOutcome(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"
    EXPIRED = "expired"  # no decision within the hold timeout
    WITHDRAWN = "withdrawn"  # the client cancelled or left


@dataclass(frozen=True)
class HoldRequest:
    """What approvers see: the exact statement, who sent it, where, and the rule."""

    id: str
    session: str
    grant: str
    identity: str
    identity_name: str
    resource: str
    statement: str
    rule: str
    reason: str
    requested_at: str
    expires_at: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HoldDecision:
    outcome: HoldOutcome
    by: str = ""  # the approver, for approved / denied
    at: str = ""


@dataclass
class _Pending:
    request: HoldRequest
    decided: asyncio.Future[HoldDecision]


def new_hold(*, timeout_s: float, **fields: str) -> HoldRequest:
    """A hold with a fresh id, requested now, expiring after `timeout_s`."""
    now = datetime.now(UTC)
    return HoldRequest(
        id=str(uuid.uuid4()),
        requested_at=now.isoformat(),
        expires_at=(now + timedelta(seconds=timeout_s)).isoformat(),
        **fields,
    )


class HoldDesk:
    """Pending holds, their outgoing envelopes, and the decisions coming back."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}
        # ("hold", body) and ("hold_withdrawn", body) for the link to send, in order.
        self.outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    async def request(self, hold: HoldRequest, timeout_s: float) -> HoldDecision:
        """Wait for the decision on `hold`, at most `timeout_s`; withdrawn if cancelled."""
        decided: asyncio.Future[HoldDecision] = asyncio.get_running_loop().create_future()
        self._pending[hold.id] = _Pending(hold, decided)
        self.outbox.put_nowait(("hold", {"hold": hold.to_dict()}))
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(decided)
        except TimeoutError:
            self._withdraw(hold.id, "the hold timed out at the agent")
            return HoldDecision(HoldOutcome.EXPIRED)
        except asyncio.CancelledError:
            self._withdraw(hold.id, "the session ended")
            raise
        finally:
            self._pending.pop(hold.id, None)

    def decide(self, hold_id: str, outcome: str, by: str = "", at: str = "") -> None:
        """A decision from the control plane; unknown or finished holds are ignored."""
        pending = self._pending.get(_canonical(hold_id))
        if pending is None or pending.decided.done():
            log.info("decision for hold %s which no longer waits", hold_id)
            return
        try:
            decision = HoldDecision(HoldOutcome(outcome), by=by, at=at)
        except ValueError:
            log.warning("hold %s: unknown decision %r, treated as denied", hold_id, outcome)
            decision = HoldDecision(HoldOutcome.DENIED, by=by, at=at)
        pending.decided.set_result(decision)

    def withdraw_session(self, session_id: str, reason: str) -> int:
        """Withdraw every hold of a session (its client cancelled); returns how many."""
        held = [p for p in self._pending.values() if p.request.session == session_id]
        for pending in held:
            if not pending.decided.done():
                pending.decided.set_result(HoldDecision(HoldOutcome.WITHDRAWN))
            self._withdraw(pending.request.id, reason)
        return len(held)

    def resend(self) -> list[tuple[str, dict[str, Any]]]:
        """The hold envelopes still waiting, for a link that just (re)connected."""
        return [
            ("hold", {"hold": p.request.to_dict()})
            for p in self._pending.values()
            if not p.decided.done()
        ]

    def _withdraw(self, hold_id: str, reason: str) -> None:
        self.outbox.put_nowait(("hold_withdrawn", {"id": hold_id, "reason": reason}))


def _canonical(hold_id: str) -> str:
    """Hold ids are UUIDs; the control plane may spell one differently (hex, upper case)."""
    try:
        return str(uuid.UUID(hold_id))
    except ValueError:
        return hold_id

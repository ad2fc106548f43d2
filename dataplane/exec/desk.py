"""Exec calls arriving over the control-plane link, and their results going back.

The link hands each ``exec`` body to ``receive``; the call runs as a task of its own (the
link keeps reading meanwhile) and its ``exec_result`` lands in ``outbox``, which the link
sends. A result finished while the link is down is kept for the next connection: the
control plane ignores one it no longer waits for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dataplane.contract import ContractError
from dataplane.contract.exec_call import ExecCall, ExecError, ExecErrorCode, ExecResult
from dataplane.core.tasks import spawn

log = logging.getLogger("gatehouse.exec")

MAX_CONCURRENT_CALLS = 64  # beyond this, calls are answered "busy" instead of queued


class ExecDesk:
    """Starts exec calls and collects their results for the link to send."""

    def __init__(self, run: Callable[[ExecCall], Awaitable[ExecResult]]) -> None:
        self._run = run
        self._running: set[str] = set()
        self.outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def receive(self, body: dict[str, Any]) -> None:
        """An ``exec`` body from the control plane: start it, or answer why not at once."""
        try:
            call = ExecCall.from_dict(body)
        except ContractError as exc:
            log.warning("refusing an off-contract exec call: %s", exc)
            self._answer_malformed(body, str(exc))
            return
        if call.id in self._running:
            log.info("exec call %s is already running; ignoring the repeat", call.id)
            return
        if len(self._running) >= MAX_CONCURRENT_CALLS:
            error = ExecError(ExecErrorCode.NOT_READY, "the gateway is busy; try again", 503)
            self._send(ExecResult(id=call.id, error=error))
            return
        self._running.add(call.id)
        spawn(self._serve(call), name=f"exec-{call.id}")

    async def _serve(self, call: ExecCall) -> None:
        try:
            result = await self._run(call)
        finally:
            self._running.discard(call.id)
        self._send(result)

    def _answer_malformed(self, body: dict[str, Any], reason: str) -> None:
        call_id = body.get("id")
        if isinstance(call_id, str) and call_id:
            error = ExecError(ExecErrorCode.BAD_REQUEST, f"malformed exec call: {reason}")
            self._send(ExecResult(id=call_id, error=error))

    def _send(self, result: ExecResult) -> None:
        self.outbox.put_nowait(("exec_result", result.to_dict()))

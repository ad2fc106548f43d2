"""The limit of a one-call session (a grant of scope ``call``), without any I/O.

A one-call session may run exactly one statement: one simple-protocol Query, one
FunctionCall, or one extended-protocol Execute with its cycle up to and including the Sync
after it. Cycles that execute nothing before it (Parse/Describe/Sync, as asyncpg sends to
prepare) do not count. Within the call's cycle a second Execute (or anything but Sync and
Flush) is held back, and after the call only COPY data and Terminate pass, so pipelined
work never reaches the server (fail closed). The gate then watches the server for the
ReadyForQuery that answers the call, after which the driver ends the session.

Unlike the ordinary relay, the gate frames and re-emits every client message of the session
(bodies included): a one-call session is short, so the copy costs nothing that matters.
"""

from __future__ import annotations

from typing import Final

from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.framing import MessageFramer

# Client messages the server answers with exactly one ReadyForQuery each.
ANSWERED_BY_READY: Final = frozenset({m.QUERY, m.SYNC, m.FUNCTION_CALL})
# Passed after the Execute of the call, until its Sync.
AFTER_EXECUTE: Final = frozenset({m.SYNC, m.FLUSH})
# Passed after the call: COPY data for a COPY FROM STDIN the call started (the server
# ignores these outside COPY), and Terminate. Nothing here can start a statement.
AFTER_CALL: Final = frozenset({m.COPY_DATA, m.COPY_DONE, m.COPY_FAIL, m.TERMINATE})


class OneCallGate:
    """Client → server: what may pass. Server → client: whether the call is complete."""

    __slots__ = ("_call_ready", "_framer", "_readies_due", "_readies_seen", "dropped", "executed")

    def __init__(self, max_message_size: int) -> None:
        self._framer = MessageFramer(max_message_size)
        self.executed = False  # the call's Execute has been passed on
        self.dropped = 0  # client messages held back
        self._readies_due = 0  # ReadyForQuery messages the passed messages will bring
        self._readies_seen = 0
        self._call_ready = 0  # which of them answers the call (0: no call passed yet)

    @property
    def call_sent(self) -> bool:
        """The message ending the one call has been passed on."""
        return self._call_ready > 0

    def client_data(self, data: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
        """The bytes to forward for ``data`` and the messages they hold, in order."""
        passed = [(t, body) for t, body in self._framer.feed(data) if self._admit(t)]
        return b"".join(m.framed(t, body) for t, body in passed), passed

    def completes_call(self, server_message_type: int) -> bool:
        """True for the ReadyForQuery that answers the one call."""
        if server_message_type != m.READY_FOR_QUERY:
            return False
        self._readies_seen += 1
        return self.call_sent and self._readies_seen >= self._call_ready

    def _admit(self, message_type: int) -> bool:
        if self.call_sent:
            allowed = message_type in AFTER_CALL
        else:
            allowed = not self.executed or message_type in AFTER_EXECUTE
        if not allowed:
            self.dropped += 1
            return False
        self._readies_due += message_type in ANSWERED_BY_READY
        self.executed = self.executed or message_type == m.EXECUTE
        if message_type in (m.QUERY, m.FUNCTION_CALL) or (self.executed and message_type == m.SYNC):
            self._call_ready = self._readies_due
        return True

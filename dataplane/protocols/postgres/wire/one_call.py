"""The limit of a one-call session (a grant of scope ``call``), without any I/O.

A one-call session may run exactly one statement: one simple-protocol Query, one
extended-protocol cycle up to and including its Sync, or one FunctionCall. The gate passes
client messages up to the end of that call and nothing after it that could start another
one, so pipelined work never reaches the server (fail closed). It then watches the server
for the ReadyForQuery that completes the call, after which the driver ends the session.

Unlike the ordinary relay, the gate frames and re-emits every client message of the session
(bodies included): a one-call session is short, so the copy costs nothing that matters.
"""

from __future__ import annotations

from typing import Final

from dataplane.protocols.postgres.wire import messages as m
from dataplane.protocols.postgres.wire.framing import MessageFramer

# Client messages that end a call: the server answers each with ReadyForQuery.
CALL_ENDS: Final = frozenset({m.QUERY, m.SYNC, m.FUNCTION_CALL})
# Passed after the call: COPY data for a COPY FROM STDIN the call started (the server
# ignores these outside COPY), and Terminate. Nothing here can start a statement.
AFTER_CALL: Final = frozenset({m.COPY_DATA, m.COPY_DONE, m.COPY_FAIL, m.TERMINATE})


class OneCallGate:
    """Client → server: what may pass. Server → client: whether the call is complete."""

    __slots__ = ("_framer", "call_sent", "dropped")

    def __init__(self, max_message_size: int) -> None:
        self._framer = MessageFramer(max_message_size)
        self.call_sent = False  # the message ending the one call has been passed on
        self.dropped = 0  # client messages held back after the call

    def client_data(self, data: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
        """The bytes to forward for ``data`` and the messages they hold, in order."""
        passed: list[tuple[int, bytes]] = []
        for message_type, body in self._framer.feed(data):
            if self.call_sent and message_type not in AFTER_CALL:
                self.dropped += 1
                continue
            passed.append((message_type, body))
            self.call_sent = self.call_sent or message_type in CALL_ENDS
        return b"".join(m.framed(t, body) for t, body in passed), passed

    def completes_call(self, server_message_type: int) -> bool:
        """True for the ReadyForQuery that answers the one call."""
        return self.call_sent and server_message_type == m.READY_FOR_QUERY

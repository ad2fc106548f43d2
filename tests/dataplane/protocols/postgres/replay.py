"""Replaying recorded transcripts (see capture_transcripts.py) through the wire layer."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from dataplane.protocols.postgres.wire.framing import MessageFramer, StartupFramer
from dataplane.protocols.postgres.wire.login import UpstreamLogin
from dataplane.protocols.postgres.wire.statements import (
    CLIENT_TYPES_TRACKED,
    SERVER_TYPES_TRACKED,
    StatementFinished,
    StatementTracker,
)

TRANSCRIPTS = Path(__file__).parent / "transcripts"


@dataclass(frozen=True)
class Transcript:
    scenario: str
    chunks: list[tuple[str, bytes]]  # ("c" | "s", bytes) in causal order

    def client_bytes(self) -> bytes:
        return b"".join(data for direction, data in self.chunks if direction == "c")

    def server_bytes(self) -> bytes:
        return b"".join(data for direction, data in self.chunks if direction == "s")


def load(scenario: str) -> Transcript:
    document = json.loads((TRANSCRIPTS / f"{scenario}.json").read_text())
    assert document["format"] == 1
    chunks = [(direction, base64.b64decode(data)) for direction, data in document["chunks"]]
    return Transcript(scenario, chunks)


def scenarios() -> list[str]:
    return sorted(path.stem for path in TRANSCRIPTS.glob("*.json"))


class Replay:
    """Plays a transcript the way the proxy sees a connection: the client's startup packet,
    the upstream login on the server's first messages, then both directions through framers
    (with the tracker's `wanted` sets) into a StatementTracker."""

    def __init__(self) -> None:
        self.tracker = StatementTracker()
        self.login = UpstreamLogin(user="postgres", database="postgres", password=None)
        self.login.start()
        self.startup = StartupFramer()
        self.client = MessageFramer(wanted=CLIENT_TYPES_TRACKED)
        self.login_framer = MessageFramer()
        self.server = MessageFramer(wanted=SERVER_TYPES_TRACKED)
        self.startup_packets: list[bytes] = []
        self.finished: list[StatementFinished] = []

    def play(self, transcript: Transcript) -> list[StatementFinished]:
        for direction, data in transcript.chunks:
            if direction == "c":
                self.client_chunk(data)
            else:
                self.server_chunk(data)
        return self.finished

    def client_chunk(self, data: bytes) -> None:
        if not self.startup.finished:
            self.startup_packets += self.startup.feed(data)
            if not self.startup.finished:
                return
            data = self.startup.take_remaining()
        for message_type, body in self.client.feed(data):
            self.tracker.client_message(message_type, body)

    def server_chunk(self, data: bytes) -> None:
        framer = self.server if self.login.done else self.login_framer
        for message_type, body in framer.feed(data):
            if not self.login.done:
                assert not self.login.receive(message_type, body)  # trust: nothing to answer
            else:
                self.finished += self.tracker.server_message(message_type, body)
        # The server sends nothing after ReadyForQuery until asked, so the switch of framers
        # happens at a message boundary.
        assert not self.login.done or self.login_framer.buffered == 0


def messages(data: bytes, *, typed_from: int = 0) -> list[tuple[str, bytes]]:
    """Every message in `data` with its whole body (for debugging and a few assertions)."""
    return [(chr(t), body) for t, body in MessageFramer().feed(data[typed_from:])]


def dump(scenario: str) -> None:
    """Print a transcript message by message: `python -m tests...replay psql_simple`."""
    for direction, data in load(scenario).chunks:
        print(f"--- {'client' if direction == 'c' else 'server'} chunk, {len(data)} bytes")
        try:
            for message_type, body in messages(data):
                print(f"  {message_type} {body[:100]!r}")
        except Exception:
            print(f"  (untyped) {data[:100]!r}")


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:] or scenarios():
        print(f"===== {name}")
        dump(name)

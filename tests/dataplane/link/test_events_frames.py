"""Each event is encoded once: its spool line is what the link sends, and it decodes to the event.

The spool writes ``AuditEvent.to_dict()`` as one compact JSON line at append time; the link
splices those lines into ``events`` frames. The control plane decodes the frame with
``decode_envelope`` and every event with ``AuditEvent.from_dict``, so that must give back
exactly what was appended, from memory or from disk after a restart.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import given
from hypothesis import strategies as st

from dataplane.contract import (
    Action,
    Actor,
    AuditEvent,
    Envelope,
    decode_envelope,
    encode_envelope,
)
from dataplane.link.client import _events_frame, _lines_fitting
from dataplane.link.spool import Line, Spool
from dataplane.link.spool.lines import encode_line

T = TypeVar("T")
ALICE = Actor(sub="id-alice", kind="user", name="alice")
AI_AGENT = Actor(sub="id-ai", kind="service_account", name="ai-agent 🤖")
PAYLOADS: list[dict[str, Any]] = [
    {"statement": "SELECT 1", "rows": 1, "duration_ms": 0.213, "error": None},
    {"statement": "SELECT 'Grüße', '日本語', '🚀' FROM \"Tabelle\"", "command_tags": ["SELECT 1"]},
    {"statement": "SELECT E'a\\nb\\t\"c\"\\\\'", "quote": '"', "control": "\x00\x1f\x7f"},
    {"separators": "\u2028\u2029", "nested": {"list": [1, 2.5, -3, True, False, None]}},
    {"reason": "bad_credentials", "message": "mot de passe refusé", "detail": ""},
]


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(20):
            return await scenario()

    return asyncio.run(bounded())


def append_all(spool: Spool) -> list[AuditEvent]:
    """Append every payload once per actor; return the events as the spool should hold them."""
    expected = []
    for actor in (ALICE, AI_AGENT):
        for index, payload in enumerate(PAYLOADS):
            fields: dict[str, Any] = {
                "time": f"2025-06-01T12:00:0{index}.000123Z",
                "action": Action.STATEMENT.value,
                "actor": actor,
                "resource": "orders-db",
                "protocol": "postgres",
                "session": "s-ü",
                "payload": payload,
            }
            expected.append(AuditEvent(seq=spool.append(**fields), **fields))
    return expected


def frame_of(lines: list[Line]) -> bytes:
    return _events_frame([line for _, line in lines])


def decoded(frame: bytes) -> list[AuditEvent]:
    """What the control plane makes of an events frame."""
    envelope = decode_envelope(frame)
    assert envelope.type == "events"
    return [AuditEvent.from_dict(document) for document in envelope.body["events"]]


def envelope_of(events: list[AuditEvent]) -> bytes:
    """The frame as encoding the events afresh would give it."""
    body = {"events": [event.to_dict() for event in events]}
    return encode_envelope(Envelope("events", body)).encode()


def test_a_frame_of_spool_lines_decodes_to_exactly_the_appended_events(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        expected = append_all(spool)
        await spool.flush()

        frame = frame_of(spool.durable_pending_lines(100))

        assert decoded(frame) == expected
        assert frame == envelope_of(expected)
        frame.decode("utf-8")  # valid UTF-8: the link sends it as a text frame
        assert spool.durable_pending(100) == expected
        await spool.close()

    run(scenario)


def test_lines_read_back_from_disk_after_a_restart_make_the_same_frame(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path, segment_max_bytes=1_000)
        expected = append_all(spool)
        await spool.flush()
        before_restart = frame_of(spool.durable_pending_lines(100))
        await spool.close()

        spool = await Spool.open(tmp_path, segment_max_bytes=1_000, memory_max_events=3)
        after_restart = frame_of(spool.durable_pending_lines(100))
        paged = [frame_of(spool.durable_pending_lines(4, after=after)) for after in (0, 4, 8)]

        assert after_restart == before_restart
        assert decoded(after_restart) == expected
        assert [event for frame in paged for event in decoded(frame)] == expected
        await spool.close()

    run(scenario)


def test_an_acknowledged_prefix_is_left_out_of_the_next_frame(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        expected = append_all(spool)
        await spool.flush()
        spool.acknowledge(6)

        assert decoded(frame_of(spool.durable_pending_lines(100))) == expected[6:]
        await spool.close()

    run(scenario)


def test_a_batch_too_big_for_one_frame_is_cut_to_a_prefix_that_fits() -> None:
    lines = [b'{"seq":%d,"pad":"%s"}' % (seq, b"x" * 50) for seq in range(1, 11)]
    whole = _events_frame(lines)

    assert _lines_fitting(lines, len(whole)) == 10
    for limit in range(len(whole) - 1, 0, -7):
        count = _lines_fitting(lines, limit)
        assert len(_events_frame(lines[:count])) <= limit or count == 1
        assert count == 10 or len(_events_frame(lines[: count + 1])) > limit


json_text = st.text(st.characters(codec="utf-8"), max_size=20)  # no lone surrogates
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | json_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_text, children),
    max_leaves=12,
)


@given(
    seq=st.integers(1, 2**53),
    texts=st.lists(json_text, min_size=8, max_size=8),
    payload=st.dictionaries(json_text, json_values, max_size=6),
)
def test_a_line_is_the_compact_json_of_the_event_dict(
    seq: int, texts: list[str], payload: dict[str, Any]
) -> None:
    time, action, sub, kind, name, resource, protocol, session = texts
    actor = Actor(sub=sub, kind=kind, name=name)
    event = AuditEvent(seq, time, action, actor, resource, protocol, session, payload)
    compact = json.dumps(event.to_dict(), ensure_ascii=False, separators=(",", ":"))

    line = encode_line(
        seq,
        time=time,
        action=action,
        actor=actor,
        resource=resource,
        protocol=protocol,
        session=session,
        payload=payload,
    )

    assert line == compact.encode()
    assert AuditEvent.from_dict(json.loads(line)) == AuditEvent.from_dict(event.to_dict())

"""One audit event as one spool line: the bytes written to a segment and sent to the control plane.

A line is the compact JSON of ``AuditEvent.to_dict()`` (same keys, same order), UTF-8,
without its terminating newline; the segment files add the newline. The event is encoded
once, when it is appended: the writer stores these bytes and the link splices them into its
``events`` frames unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from dataplane.contract import AUDIT_EVENT_FORMAT, Actor, AuditEvent, ContractError

Line = tuple[int, bytes]  # (seq, the event's JSON line without its "\n")

# Built once: json.dumps() would construct an encoder on every call.
_encode_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def encode_line(
    seq: int,
    *,
    time: str,
    action: str,
    actor: Actor,
    resource: str,
    protocol: str,
    session: str,
    payload: dict[str, Any],
) -> bytes:
    """The line of the event ``AuditEvent(seq, ...)`` would be, without building that object.

    Raises TypeError/ValueError if the payload is not JSON-serialisable as valid UTF-8 text.
    """
    # The keys and their order of AuditEvent.to_dict(), with each value encoded on its own:
    # the same text as encoding that dict, in about two thirds of the time (json's encoder
    # has a fast path for a lone string, and this skips its per-container bookkeeping).
    # tests/dataplane/link/test_events_frames.py holds the two to the same bytes.
    return (
        f'{{"format":{AUDIT_EVENT_FORMAT:d},"seq":{seq:d},"time":{_encode_json(time)},'
        f'"action":{_encode_json(action)},"actor":{_encode_actor(actor)},'
        f'"resource":{_encode_json(resource)},"protocol":{_encode_json(protocol)},'
        f'"session":{_encode_json(session)},"payload":{_encode_json(payload)}}}'
    ).encode()


def _encode_actor(actor: Actor) -> str:
    principal = actor.on_behalf_of
    return (
        f'{{"sub":{_encode_json(actor.sub)},"kind":{_encode_json(actor.kind)},'
        f'"name":{_encode_json(actor.name)},'
        f'"on_behalf_of":{_encode_actor(principal) if principal else "null"}}}'
    )


def decode_line(line: bytes) -> AuditEvent:
    """The event on a line this spool wrote (ContractError or ValueError if it is not one)."""
    # Strict UTF-8 (json.loads(bytes) would let encoded surrogates through): the link sends
    # lines read back from disk as websocket text, which must be valid UTF-8.
    document = json.loads(line.decode())
    if not isinstance(document, dict):
        raise ContractError("a spool line is not a JSON object")
    return AuditEvent.from_dict(document)


def line_seq(line: bytes) -> int | None:
    """The seq of the event on a complete line read from a segment (ending in "\\n"), or None
    for a torn or unreadable one."""
    if not line.endswith(b"\n"):
        return None
    try:
        return decode_line(line).seq
    except ValueError:  # ContractError is one
        return None

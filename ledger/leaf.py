"""The audit leaf, format v1: one log entry as a JSON document and its exact bytes.

The leaf bytes are ``canonical_json(document)`` (RFC 8785) and are what the Merkle tree
commits to (``merkle.leaf_hash(leaf_bytes)``); they are stored as signed and never
re-serialised. `parse_leaf` refuses bytes that are not the canonical form of a well-formed
document of a known version, so a verifier never hashes one thing and shows another.

v1 fields: ``v`` (1), ``seq`` (0-based log index), ``time`` (RFC 3339 UTC with microseconds
and ``Z``), ``source`` ("agent" | "controlplane"), ``agent`` (agent name or null),
``agent_seq`` (the agent's own 1, 2, 3, ... sequence or null), ``actor`` and ``on_behalf_of``
(``{"sub", "kind", "name"}``, strings, ``sub`` "" for anonymous; ``on_behalf_of`` null unless
an AI agent acted for a person), ``resource``, ``protocol``, ``session`` (strings, "" when not
applicable), ``action`` (non-empty string) and ``payload`` (an object).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ledger.canonical import CanonicalJSONError, canonical_json, parse_json

LEAF_FORMAT = 1
SOURCES = ("agent", "controlplane")
PRINCIPAL_FIELDS = ("sub", "kind", "name")

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", re.ASCII)
_V1_FIELDS = frozenset(
    {"v", "seq", "time", "source", "agent", "agent_seq", "actor", "on_behalf_of"}
    | {"resource", "protocol", "session", "action", "payload"}
)

LeafDocument = dict[str, Any]


class LeafError(ValueError):
    """Bytes or fields that are not a well-formed leaf of a known format."""


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z`` (``2026-11-30T15:04:05.123456Z``)."""
    if moment.tzinfo is None:
        raise LeafError("leaf time must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def leaf_document(
    *,
    seq: int,
    time: datetime | str,
    source: str,
    agent: str | None,
    agent_seq: int | None,
    actor: Mapping[str, Any],
    on_behalf_of: Mapping[str, Any] | None,
    resource: str,
    protocol: str,
    session: str,
    action: str,
    payload: Mapping[str, Any],
) -> LeafDocument:
    """Build and check a v1 leaf document; ``leaf_bytes`` gives its canonical bytes.

    ``actor``/``on_behalf_of`` may carry extra keys (an ``Actor.to_dict()``): only
    ``sub``, ``kind`` and ``name`` are taken.
    """
    document: LeafDocument = {
        "v": LEAF_FORMAT,
        "seq": seq,
        "time": format_time(time) if isinstance(time, datetime) else time,
        "source": source,
        "agent": agent,
        "agent_seq": agent_seq,
        "actor": _principal(actor, "actor"),
        "on_behalf_of": None if on_behalf_of is None else _principal(on_behalf_of, "on_behalf_of"),
        "resource": resource,
        "protocol": protocol,
        "session": session,
        "action": action,
        "payload": dict(payload),
    }
    _check_v1(document)
    return document


def _principal(value: Mapping[str, Any], field: str) -> dict[str, Any]:
    missing = [key for key in PRINCIPAL_FIELDS if key not in value]
    if missing:
        raise LeafError(f"{field} lacks {', '.join(missing)}")
    return {key: value[key] for key in PRINCIPAL_FIELDS}


def leaf_bytes(document: Mapping[str, Any]) -> bytes:
    """The exact bytes the tree commits to: RFC 8785 canonical JSON of the document."""
    try:
        return canonical_json(document)
    except CanonicalJSONError as error:
        raise LeafError(f"leaf is not canonicalisable: {error}") from error


def parse_leaf(data: bytes | str) -> LeafDocument:
    """Parse leaf bytes, refusing non-canonical bytes and unknown versions; returns v1.

    Older versions (none yet) are upgraded through `UPGRADES` so readers see one shape.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    document = _decode(raw)
    if leaf_bytes(document) != raw:
        raise LeafError("leaf bytes are not in RFC 8785 canonical form")
    version = document.get("v")
    while version in UPGRADES:
        document = UPGRADES[version](document)
        version = document.get("v")
    if version != LEAF_FORMAT:
        raise LeafError(f"unknown leaf format {version!r}")
    _check_v1(document)
    return document


def _decode(raw: bytes) -> LeafDocument:
    try:
        document = parse_json(raw)
    except CanonicalJSONError as error:
        raise LeafError(f"leaf is not JSON: {error}") from error
    if not isinstance(document, dict):
        raise LeafError("leaf is not a JSON object")
    return document


# Upgrades from older leaf formats, keyed by the version they read; each returns a newer
# document. Empty while v1 is the only format.
UPGRADES: dict[object, Callable[[LeafDocument], LeafDocument]] = {}


def _check_v1(document: Mapping[str, Any]) -> None:
    """Field-by-field checks of a v1 document; raise `LeafError` naming the first problem."""
    if set(document) != _V1_FIELDS:
        extra, missing = set(document) - _V1_FIELDS, _V1_FIELDS - set(document)
        raise LeafError(
            f"leaf fields differ from v1: extra {sorted(extra)}, missing {sorted(missing)}"
        )
    _require(_is_count(document["seq"], minimum=0), "seq must be an integer >= 0")
    _require(
        isinstance(document["time"], str) and bool(_TIME.fullmatch(document["time"])),
        "time must be RFC 3339 UTC with microseconds, e.g. 2026-01-02T03:04:05.000006Z",
    )
    _require(document["source"] in SOURCES, f"source must be one of {SOURCES}")
    _check_agent(document)
    _check_principal(document["actor"], "actor")
    if document["on_behalf_of"] is not None:
        _check_principal(document["on_behalf_of"], "on_behalf_of")
    for field in ("resource", "protocol", "session", "action"):
        _require(isinstance(document[field], str), f"{field} must be a string")
    _require(bool(document["action"]), "action must not be empty")
    _require(isinstance(document["payload"], dict), "payload must be an object")


def _check_agent(document: Mapping[str, Any]) -> None:
    agent, agent_seq = document["agent"], document["agent_seq"]
    _require(
        agent is None or (isinstance(agent, str) and bool(agent)),
        "agent must be a non-empty string or null",
    )
    _require(
        agent_seq is None or _is_count(agent_seq, minimum=0),
        "agent_seq must be an integer >= 0 or null",
    )
    _require(agent_seq is None or agent is not None, "agent_seq needs an agent")
    if document["source"] == "agent":
        _require(agent_seq is not None, "an agent event needs agent and agent_seq")


def _check_principal(value: object, field: str) -> None:
    if not isinstance(value, dict) or set(value) != set(PRINCIPAL_FIELDS):
        raise LeafError(f"{field} must be an object with exactly {', '.join(PRINCIPAL_FIELDS)}")
    _require(
        all(isinstance(value[key], str) for key in PRINCIPAL_FIELDS),
        f"{field} fields must be strings",
    )
    _require(bool(value["kind"]), f"{field}.kind must not be empty")


def _is_count(value: object, *, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _require(condition: bool, problem: str) -> None:
    if not condition:
        raise LeafError(problem)

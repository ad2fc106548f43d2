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

from ledger.canonical import CanonicalJSONError, canonical_json, parse_canonical_json

LEAF_FORMAT = 1
SOURCES = ("agent", "controlplane")
PRINCIPAL_FIELDS = ("sub", "kind", "name")

_TIME = re.compile(
    r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{6}Z",
    re.ASCII,
)
_PRINCIPAL_KEYS = frozenset(PRINCIPAL_FIELDS)
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
        document = parse_canonical_json(raw)
    except CanonicalJSONError as error:
        raise LeafError(f"leaf is not canonical JSON: {error}") from error
    if not isinstance(document, dict):
        raise LeafError("leaf is not a JSON object")
    return document


# Upgrades from older leaf formats, keyed by the version they read; each returns a newer
# document. Empty while v1 is the only format.
UPGRADES: dict[object, Callable[[LeafDocument], LeafDocument]] = {}


def _check_v1(document: Mapping[str, Any]) -> None:
    """Field-by-field checks of a v1 document; raise `LeafError` naming the first problem.

    Plain ``if`` chains: the verifier runs this for every entry.
    """
    if document.keys() != _V1_FIELDS:
        extra, missing = set(document) - _V1_FIELDS, _V1_FIELDS - set(document)
        raise LeafError(
            f"leaf fields differ from v1: extra {sorted(extra)}, missing {sorted(missing)}"
        )
    if not _is_count(document["seq"]):
        raise LeafError("seq must be an integer >= 0")
    time = document["time"]
    if not isinstance(time, str) or not _TIME.fullmatch(time):
        raise LeafError(
            "time must be RFC 3339 UTC with microseconds, e.g. 2026-01-02T03:04:05.000006Z"
        )
    if document["source"] not in SOURCES:
        raise LeafError(f"source must be one of {SOURCES}")
    _check_agent(document)
    _check_principal(document["actor"], "actor")
    if document["on_behalf_of"] is not None:
        _check_principal(document["on_behalf_of"], "on_behalf_of")
    _check_strings(document)
    if type(document["payload"]) is not dict:
        raise LeafError("payload must be an object")


def _check_agent(document: Mapping[str, Any]) -> None:
    agent, agent_seq = document["agent"], document["agent_seq"]
    if agent is not None and (type(agent) is not str or not agent):
        raise LeafError("agent must be a non-empty string or null")
    if agent_seq is not None and not _is_count(agent_seq):
        raise LeafError("agent_seq must be an integer >= 0 or null")
    if agent_seq is not None and agent is None:
        raise LeafError("agent_seq needs an agent")
    if document["source"] == "agent" and agent_seq is None:
        raise LeafError("an agent event needs agent and agent_seq")


def _check_principal(value: object, field: str) -> None:
    if type(value) is not dict or value.keys() != _PRINCIPAL_KEYS:
        raise LeafError(f"{field} must be an object with exactly {', '.join(PRINCIPAL_FIELDS)}")
    if type(value["sub"]) is not str or type(value["name"]) is not str:
        raise LeafError(f"{field} fields must be strings")
    if type(value["kind"]) is not str or not value["kind"]:
        raise LeafError(f"{field}.kind must be a non-empty string")


def _check_strings(document: Mapping[str, Any]) -> None:
    for field in ("resource", "protocol", "session", "action"):
        if type(document[field]) is not str:
            raise LeafError(f"{field} must be a string")
    if not document["action"]:
        raise LeafError("action must not be empty")


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0

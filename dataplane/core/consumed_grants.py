"""Single-use grants this agent has already let a session through on, kept across restarts.

A grant of scope ``session`` or ``call`` admits one session. The agent decides that alone
(the control plane may be unreachable), so the decision must survive an agent restart: each
consumption is appended to a small file beside the spool and fsync'd before the session
relays its first byte. Entries are dropped once their grant has expired (the grant cannot
admit anyone then anyway), when the file is opened.

File format (versioned like every format here): a first line ``{"format": 1}``, then one
JSON object per line: ``{"grant": "<id>", "expires_at": "<ISO 8601 with offset>"}``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from datetime import datetime
from pathlib import Path

from dataplane.contract import GrantSpec

log = logging.getLogger("gatehouse.consumed_grants")

CONSUMED_GRANTS_FORMAT = 1


class ConsumedGrantsError(Exception):
    """The ledger file cannot be read (unknown format, damaged line)."""


class ConsumedGrants:
    """Grant ids already used, in memory and in an append-only, fsync'd file.

    ``claim`` is synchronous and in memory, so two concurrent connections on one grant can
    never both get it; ``record`` makes a claim durable; ``release`` gives back a claim whose
    session never started (e.g. the upstream login failed).
    """

    def __init__(self, path: Path, entries: dict[str, datetime]) -> None:
        self._path = path
        self._expiry = entries  # grant id -> its expiry, for pruning
        self._durable = set(entries)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, now: datetime) -> ConsumedGrants:
        """Read ``path`` (a missing file is an empty ledger), drop expired entries and
        rewrite it compacted."""
        entries = {
            grant: expiry for grant, expiry in _read(path).items() if expiry > now
        }  # an expired grant admits no one: forgetting it is safe
        _rewrite(path, entries)
        log.info("%d consumed single-use grant(s) still unexpired", len(entries))
        return cls(path, entries)

    def __contains__(self, grant_id: object) -> bool:
        return grant_id in self._expiry

    def claim(self, grant: GrantSpec) -> bool:
        """Take ``grant`` for one session; False if it was already taken."""
        if grant.id in self._expiry:
            return False
        self._expiry[grant.id] = grant.expires_at
        return True

    def release(self, grant: GrantSpec) -> None:
        """Give back a claim that was never made durable (its session never started)."""
        if grant.id not in self._durable:
            self._expiry.pop(grant.id, None)

    def record(self, grant: GrantSpec) -> None:
        """Make the claim on ``grant`` durable: append and fsync (raises OSError)."""
        line = json.dumps({"grant": grant.id, "expires_at": grant.expires_at.isoformat()})
        with self._lock:
            with self._path.open("a", encoding="utf-8") as file:
                file.write(line + "\n")
                file.flush()
                os.fsync(file.fileno())
            self._durable.add(grant.id)


def _read(path: Path) -> dict[str, datetime]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    lines = text.splitlines()
    if not text.endswith("\n") and lines:
        # A torn append (crash mid-write): its record() never returned, so the session it
        # was for never relayed a byte. Dropping it is safe.
        lines.pop()
    if not lines:
        return {}
    try:
        if json.loads(lines[0]).get("format") != CONSUMED_GRANTS_FORMAT:
            raise ConsumedGrantsError(f"{path}: unsupported format line {lines[0]!r}")
        return dict(_entry(line) for line in lines[1:] if line.strip())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Refuse to start rather than forget which grants were used (fail closed).
        raise ConsumedGrantsError(f"{path}: damaged ({exc})") from exc


def _entry(line: str) -> tuple[str, datetime]:
    document = json.loads(line)
    expiry = datetime.fromisoformat(document["expires_at"])
    if expiry.tzinfo is None:
        raise ValueError("expires_at must carry a timezone")
    return str(document["grant"]), expiry


def _rewrite(path: Path, entries: dict[str, datetime]) -> None:
    """Replace the file atomically: write a temporary file, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    lines = [json.dumps({"format": CONSUMED_GRANTS_FORMAT})]
    lines += [json.dumps({"grant": g, "expires_at": e.isoformat()}) for g, e in entries.items()]
    with temporary.open("w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)

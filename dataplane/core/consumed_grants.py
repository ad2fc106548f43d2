"""Single-use grants this agent has already let a session through on, kept across restarts.

A grant of scope ``session`` or ``call`` admits one session. The agent decides that alone
(the control plane may be unreachable), so the decision must survive an agent restart: each
use is appended to a small file beside the spool and fsync'd before the session relays its
first byte, and the session's end is appended when it ends. A use without an end at the next
start is a session lost with the previous agent process (a crash): the agent reports its end
then (``lost_uses``), so the control plane can end the grant. Entries are dropped once their
grant has expired (the grant cannot admit anyone then anyway), when the file is opened.

File format (versioned like every format here): a first line ``{"format": 1}``, then one
JSON object per line: a use ``{"grant", "expires_at" (ISO 8601 with offset), "scope",
"session", "resource", "protocol", "actor": {"sub", "kind", "name"}}`` or the end of its
session ``{"grant", "ended": true}``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dataplane.contract import Actor, GrantSpec
from dataplane.core.session import Session

log = logging.getLogger("gatehouse.consumed_grants")

CONSUMED_GRANTS_FORMAT = 1


class ConsumedGrantsError(Exception):
    """The ledger file cannot be read (unknown format, damaged line)."""


@dataclass(frozen=True)
class GrantUse:
    """One session's use of a single-use grant, as the ledger keeps it."""

    grant: str
    expires_at: datetime
    scope: str
    session: str
    resource: str
    protocol: str
    actor: Actor

    def to_dict(self) -> dict[str, Any]:
        return {
            "grant": self.grant,
            "expires_at": self.expires_at.isoformat(),
            "scope": self.scope,
            "session": self.session,
            "resource": self.resource,
            "protocol": self.protocol,
            "actor": {"sub": self.actor.sub, "kind": self.actor.kind, "name": self.actor.name},
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> GrantUse:
        expiry = datetime.fromisoformat(document["expires_at"])
        if expiry.tzinfo is None:
            raise ValueError("expires_at must carry a timezone")
        actor = document["actor"]
        return cls(
            grant=str(document["grant"]),
            expires_at=expiry,
            scope=str(document["scope"]),
            session=str(document["session"]),
            resource=str(document["resource"]),
            protocol=str(document["protocol"]),
            actor=Actor(sub=str(actor["sub"]), kind=str(actor["kind"]), name=str(actor["name"])),
        )


class ConsumedGrants:
    """Grant ids already used, in memory and in an append-only, fsync'd file.

    ``claim`` is synchronous and in memory, so two concurrent connections on one grant can
    never both get it; ``record`` makes a claim durable; ``release`` gives back a claim whose
    session never started (e.g. the upstream login failed); ``ended`` notes that the session
    of a use is over.
    """

    def __init__(self, path: Path, uses: dict[str, GrantUse], lost: list[GrantUse]) -> None:
        self._path = path
        self._expiry = {grant: use.expires_at for grant, use in uses.items()}  # claims too
        self._durable = set(uses)
        self.lost_uses = lost  # sessions the previous agent process never saw end
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, *, now: datetime) -> ConsumedGrants:
        """Read ``path`` (a missing file is an empty ledger), drop expired entries and
        rewrite it compacted."""
        uses, ended = _read(path)
        # An expired grant admits no one: forgetting it is safe.
        uses = {grant: use for grant, use in uses.items() if use.expires_at > now}
        _rewrite(path, uses, ended)
        lost = [use for grant, use in uses.items() if grant not in ended]
        log.info("%d consumed single-use grant(s) unexpired, %d lost", len(uses), len(lost))
        return cls(path, uses, lost)

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

    def record(self, grant: GrantSpec, session: Session) -> None:
        """Make the claim on ``grant`` by ``session`` durable: append and fsync (raises
        OSError)."""
        use = GrantUse(
            grant=grant.id,
            expires_at=grant.expires_at,
            scope=grant.scope,
            session=session.id,
            resource=session.resource_name,
            protocol=session.protocol,
            actor=session.actor,
        )
        self._append(use.to_dict())
        self._durable.add(grant.id)

    def ended(self, grant_id: str) -> None:
        """The session that used ``grant_id`` is over (and its end is in the audit spool)."""
        self._append({"grant": grant_id, "ended": True})

    def _append(self, document: dict[str, Any]) -> None:
        with self._lock, self._path.open("a", encoding="utf-8") as file:
            file.write(json.dumps(document) + "\n")
            file.flush()
            os.fsync(file.fileno())


def _read(path: Path) -> tuple[dict[str, GrantUse], set[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, set()
    lines = text.splitlines()
    if not text.endswith("\n") and lines:
        # A torn append (crash mid-write): a use whose record() never returned (its session
        # never relayed a byte: dropping it is safe), or an end (reported again: harmless).
        lines.pop()
    if not lines:
        return {}, set()
    try:
        if json.loads(lines[0]).get("format") != CONSUMED_GRANTS_FORMAT:
            raise ConsumedGrantsError(f"{path}: unsupported format line {lines[0]!r}")
        return _entries(json.loads(line) for line in lines[1:] if line.strip())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # Refuse to start rather than forget which grants were used (fail closed).
        raise ConsumedGrantsError(f"{path}: damaged ({exc})") from exc


def _entries(documents: Any) -> tuple[dict[str, GrantUse], set[str]]:
    uses: dict[str, GrantUse] = {}
    ended: set[str] = set()
    for document in documents:
        if document.get("ended") is True:
            ended.add(str(document["grant"]))
        else:
            use = GrantUse.from_dict(document)
            uses[use.grant] = use
    return uses, ended & set(uses)


def _rewrite(path: Path, uses: dict[str, GrantUse], ended: set[str]) -> None:
    """Replace the file atomically: write a temporary file, fsync, rename, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    lines = [json.dumps({"format": CONSUMED_GRANTS_FORMAT})]
    for grant, use in uses.items():
        lines.append(json.dumps(use.to_dict()))
        if grant in ended:
            lines.append(json.dumps({"grant": grant, "ended": True}))
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

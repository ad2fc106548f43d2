"""What the witness remembers: per log, the latest checkpoint it cosigned.

Written atomically (temp file, fsync, rename, fsync of the directory) before a cosignature
leaves the witness, so a crash or restart never forgets a cosigned size (C2SP tlog-witness
asks for the check and the update to be atomic: one lock per log covers both).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

STATE_FORMAT = 1


@dataclass(frozen=True)
class Cosigned:
    """The latest cosigned tree head of one log (size 0, empty root: never cosigned)."""

    origin: str
    size: int
    root: bytes


class WitnessState:
    """One JSON file per log origin under `directory`."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def lock(self, origin: str) -> Iterator[None]:
        """Hold the log's lock across reading, checking and recording."""
        with self._guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            yield

    def latest(self, origin: str) -> Cosigned:
        try:
            doc = json.loads(self._path(origin).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return Cosigned(origin, 0, b"")
        if doc.get("format") != STATE_FORMAT or doc.get("origin") != origin:
            raise RuntimeError(f"witness state for {origin!r} is corrupt or of an unknown format")
        return Cosigned(origin, int(doc["size"]), base64.b64decode(doc["root"]))

    def record(self, cosigned: Cosigned) -> None:
        doc = {
            "format": STATE_FORMAT,
            "origin": cosigned.origin,
            "size": cosigned.size,
            "root": base64.b64encode(cosigned.root).decode(),
        }
        path = self._path(cosigned.origin)
        temporary = path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            json.dump(doc, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def _path(self, origin: str) -> Path:
        # Origins are free text (slashes, dots): a hash gives a safe, fixed file name.
        return self.directory / f"{hashlib.sha256(origin.encode()).hexdigest()[:32]}.json"

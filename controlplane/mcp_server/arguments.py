"""What of a tool call's arguments the audit log keeps.

The log keeps no raw statement or request body: SQL and HTTP bodies go in as SHA-256
digests with their length (the agent's own statement event keeps the masked text, as for
held statements), a path's query string as a digest too (it may carry personal data), and
headers as their names only (their values may be credentials). The exact
arguments of a held call live in its ``ToolCallHold`` row, which only approvers read; the
digest of the whole set ties each audit event to that row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

DIGESTED = ("sql", "body")
MAX_TEXT = 500  # a longer free text (a reason) is cut in the log


def arguments_digest(arguments: Mapping[str, Any]) -> str:
    """SHA-256 of the arguments as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def arguments_for_audit(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments as the audit log may keep them."""
    kept: dict[str, Any] = {}
    for name, value in arguments.items():
        if name in DIGESTED and isinstance(value, str):
            kept[f"{name}_sha256"] = hashlib.sha256(value.encode()).hexdigest()
            kept[f"{name}_length"] = len(value)
        elif name == "path" and isinstance(value, str):
            kept.update(_path_for_audit(value))
        elif name == "headers" and isinstance(value, Mapping):
            kept["header_names"] = sorted(str(key) for key in value)
        elif isinstance(value, str):
            kept[name] = value[:MAX_TEXT]
        elif isinstance(value, int | float | bool) or value is None:
            kept[name] = value
    return kept


def _path_for_audit(path: str) -> dict[str, Any]:
    route, mark, query = path.partition("?")
    kept: dict[str, Any] = {"path": route[:MAX_TEXT]}
    if mark:
        kept["query_sha256"] = hashlib.sha256(query.encode()).hexdigest()
    return kept

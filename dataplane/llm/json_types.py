"""JSON as the dialects read it."""

from __future__ import annotations

from typing import Any

JsonValue = Any  # what json.loads returns: dict | list | str | int | float | bool | None
JsonObject = dict[str, Any]

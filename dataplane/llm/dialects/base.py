"""What every dialect (a provider's request and response shape) tells the exchange."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable

from dataplane.llm.errors import LlmRequestError
from dataplane.llm.json_types import JsonObject, JsonValue
from dataplane.llm.record import CallRecord, Piece

Visit = Callable[[str], str]  # a prompt text -> the text sent upstream


class Dialect:
    """One API's shapes. Request walkers replace text fields in place through `visit`;
    readers fill a CallRecord. Subclasses override what their API has."""

    name = ""  # LlmCall.api
    done_marker: str | None = None  # a data payload that ends the stream ("[DONE]")

    def check_request(self, body: JsonObject) -> None:
        """Raise LlmRequestError (400) when the body is no call of this API."""
        require_str(body, "model")

    def mask_request(self, body: JsonObject, visit: Visit) -> None:
        """Pass every prompt text through `visit`, in place."""

    def tool_names(self, body: JsonObject) -> list[str]:
        return []

    def read_response(self, body: JsonObject, record: CallRecord) -> None:
        """A whole (non-streamed) response."""

    def read_event(self, event: JsonObject, record: CallRecord) -> list[Piece]:
        """One streamed event: recorded, and its text deltas returned."""
        return []

    def closes(self, event: JsonObject, pending: Iterable[Hashable]) -> Iterable[Hashable]:
        """Of the `pending` stream keys (fragments held back), those `event` ends."""
        return ()

    def ends_all(self, event: JsonObject) -> bool:
        """True for an event after which no text comes (every held fragment goes before it)."""
        return False

    def event_name(self, event: JsonObject) -> str:
        """The `event:` field a synthesised event carries ("" for none)."""
        return ""


# Walking helpers shared by the dialects.


def require_str(body: JsonObject, key: str) -> None:
    if not isinstance(body.get(key), str) or not body[key]:
        raise LlmRequestError(400, f"'{key}' is required and must be a string")


def require_list(body: JsonObject, key: str) -> list[JsonValue]:
    value = body.get(key)
    if not isinstance(value, list):
        raise LlmRequestError(400, f"'{key}' is required and must be an array")
    return value


def visit_field(holder: JsonValue, key: str, visit: Visit) -> None:
    """`holder[key]` through `visit` when it is a string."""
    if isinstance(holder, dict) and isinstance(holder.get(key), str):
        holder[key] = visit(holder[key])


def visit_parts(holder: JsonValue, key: str, visit: Visit) -> None:
    """`holder[key]` as a string, or as a list of parts each with a "text" string."""
    if not isinstance(holder, dict):
        return
    value = holder.get(key)
    if isinstance(value, str):
        holder[key] = visit(value)
    elif isinstance(value, list):
        for part in value:
            visit_field(part, "text", visit)


def visit_strings(value: JsonValue, visit: Visit) -> JsonValue:
    """Every string value (never a key) in a JSON value through `visit`."""
    if isinstance(value, str):
        return visit(value)
    if isinstance(value, dict):
        return {k: visit_strings(v, visit) for k, v in value.items()}
    if isinstance(value, list):
        return [visit_strings(v, visit) for v in value]
    return value


def dicts(value: JsonValue) -> list[JsonObject]:
    """The objects in a list (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def text_of(value: JsonValue) -> str:
    return value if isinstance(value, str) else ""


def int_of(value: JsonValue, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default

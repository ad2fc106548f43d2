"""One model call through the gateway: its request masked, its response read and relayed.

Sans-I/O: the HTTP plug-in hands over bytes and sends on what comes back.

- ``request(body)`` checks and masks the request body (prompt privacy) and records the
  prompt as it goes upstream.
- ``response_chunk(data)`` returns the bytes to send the caller now. A streamed response is
  split into Server-Sent Events as they complete; in off and mask modes every byte is
  passed on at once, untouched, and read on the side. In reversible mode each complete
  event is passed on with its placeholders restored (re-encoded only when something
  changed); a trailing fragment that may be a cut placeholder waits for the next delta of
  its stream, and the bytes of an unfinished event wait for the rest of it. A whole JSON
  response is held and restored at the end.
- ``response_end()`` returns what was held; ``finish()`` the LlmCall for the audit trail:
  the completion as the provider sent it (placeholders, never the restored values).

Garbage from upstream is never an exception here: it is passed on as it came and noted
in ``problems``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable

from dataplane.contract.snapshot import MaskingProfile
from dataplane.core.addons import LlmCall
from dataplane.llm.dialects import dialect_for
from dataplane.llm.dialects.base import Dialect
from dataplane.llm.errors import LlmRequestError
from dataplane.llm.json_types import JsonObject
from dataplane.llm.privacy import Placeholders, PromptMasker
from dataplane.llm.record import CallRecord, Piece
from dataplane.llm.restore import DeltaRestorer, restore_json
from dataplane.llm.sse import SseEvent, SseOverflow, SseParser, encode_event, replace_data

log = logging.getLogger("gatehouse.llm")

MAX_READ_BYTES = 16 * 1024 * 1024  # a JSON response past this is relayed, not read
_DONE = object()  # the event that was the stream's done marker


def open_llm_exchange(
    api: str,
    method: str,
    path: str,
    privacy: str,
    profile: MaskingProfile | None,
    masking_key: bytes,
) -> LlmExchange | None:
    """The exchange for a model call, or None when the request is none (relay it as http)."""
    dialect = dialect_for(api, method, path)
    if dialect is None:
        return None
    return LlmExchange(dialect, privacy, profile, masking_key)


class LlmExchange:
    """One model call; see the module docstring for the order of calls."""

    def __init__(
        self,
        dialect: Dialect,
        privacy: str,
        profile: MaskingProfile | None,
        masking_key: bytes,
    ) -> None:
        self.dialect = dialect
        self.privacy = privacy
        self.model = ""
        self.stream = False
        self.tool_names: list[str] = []
        self.problems: list[str] = []
        self._profile, self._key = profile, masking_key
        self._masker: PromptMasker | None = None
        self._prompt = ""
        self._record = CallRecord()
        self._restorer: DeltaRestorer | None = None
        self._flushers: dict[Hashable, Piece] = {}
        self._mode = ""  # "" until the first response byte, then "json" | "sse" | "raw"
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._parser = SseParser()
        self._ended = False

    # The request

    def request(self, body_in: bytes) -> bytes:
        """The body to send upstream; raises LlmRequestError for a body that is no call."""
        body = _json_object(body_in)
        self.dialect.check_request(body)
        self.model = str(body["model"])
        self.stream = body.get("stream") is True
        try:
            return self._masked(body_in, body)
        except LlmRequestError:
            raise
        except Exception as exc:  # fail closed: a prompt we could not walk is not sent
            log.exception("llm request could not be masked")
            raise LlmRequestError(
                500, "the gateway could not process the prompt", "api_error"
            ) from exc

    def _masked(self, body_in: bytes, body: JsonObject) -> bytes:
        self.tool_names = self.dialect.tool_names(body)
        masker = PromptMasker(self.privacy, self._profile, self._key)
        if not masker.usable:
            raise LlmRequestError(
                500, "the prompt cannot be masked: the masking profile is unusable", "api_error"
            )
        self._masker = masker
        texts: list[str] = []

        def visit(text: str) -> str:
            sent = masker(text)
            texts.append(sent)
            return sent

        self.dialect.mask_request(body, visit)
        self._prompt = "\n".join(texts)
        if masker.placeholders:
            self._restorer = DeltaRestorer(masker.placeholders)
        if not masker.counts:
            return body_in
        return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()

    @property
    def rewrites_response(self) -> bool:
        """True when response bytes may change (reversible mode with placeholders sent):
        the relay must not pass on the upstream's Content-Length."""
        return self._restorer is not None

    # The response

    def response_chunk(self, data: bytes) -> bytes:
        """The bytes to send the caller now."""
        if self._mode == "raw" or self._ended:
            return data
        try:
            return self._chunk(data)
        except Exception as exc:  # never raise on upstream bytes: relay them as they are
            return self._give_up(f"unreadable response: {exc}") + data

    def response_end(self) -> bytes:
        """What was held back: call once, when the upstream's body has ended."""
        if self._ended:
            return b""
        self._ended = True
        try:
            return self._end()
        except Exception as exc:
            return self._give_up(f"unreadable response: {exc}")

    def finish(self, status: int, time_to_first_chunk_s: float | None) -> LlmCall:
        """The call as the audit trail records it (reads what is left if response_end was
        not called)."""
        self.response_end()
        record = self._record
        if status >= 400:
            finish_reason = "error"
        elif not record.terminal:
            finish_reason = "incomplete"
        else:
            finish_reason = record.finish_reason
        return LlmCall(
            api=self.dialect.name,
            model=self.model,
            stream=self.stream,
            prompt=self._prompt,
            completion=record.completion,
            tool_calls=record.tool_calls,
            input_tokens=record.input_tokens,
            output_tokens=record.output_tokens,
            finish_reason=finish_reason,
            time_to_first_chunk_s=time_to_first_chunk_s,
            prompt_masked=dict(self._masker.counts) if self._masker else {},
        )

    @property
    def complete(self) -> bool:
        """True when the response ended as its API ends one (False: the stream was cut)."""
        return self._record.terminal

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens as the provider reported them (0 when it did not)."""
        return (self._record.input_tokens or 0) + (self._record.output_tokens or 0)

    # Reading and relaying

    def _chunk(self, data: bytes) -> bytes:
        if not self._mode:
            self._mode = self._mode_of(data)
        if self._mode == "json":
            self._hold(data)
            return b"" if self.rewrites_response else data
        try:
            events = self._parser.feed(data)
        except SseOverflow as exc:
            return self._give_up(str(exc))
        if self._restorer is None:
            for event in events:
                self._read(event)
            return data
        return b"".join([self._relay(event) for event in events])

    def _mode_of(self, data: bytes) -> str:
        """A stream asked for may still come back as one JSON document (an error)."""
        if not self.stream or data.lstrip()[:1] in (b"{", b"["):
            return "json"
        return "sse"

    def _hold(self, data: bytes) -> None:
        self._held_bytes += len(data)
        if self._held_bytes <= MAX_READ_BYTES or self.rewrites_response:
            self._held.append(data)

    def _end(self) -> bytes:
        if self._mode == "json":
            return self._end_json()
        if self._mode != "sse":
            return b""
        tail = self._parser.close()
        if self._restorer is None:
            return b""
        return self._flush_all() + tail

    def _end_json(self) -> bytes:
        body = b"".join(self._held)
        self._held = []
        if self._held_bytes > MAX_READ_BYTES and not self.rewrites_response:
            self.problems.append("response too large to read")
            return b""
        try:
            value = json.loads(body)
        except ValueError:
            self.problems.append("response is not JSON")
            return body if self.rewrites_response else b""
        if isinstance(value, dict):
            self.dialect.read_response(value, self._record)
        if self._restorer is None:
            return b""
        restored, changed = restore_json(value, self.placeholders)
        return _encode(restored).encode() if changed else body

    def _read(self, event: SseEvent) -> tuple[JsonObject, list[Piece]] | object | None:
        """The event's JSON and its text deltas, _DONE, or None (nothing to read)."""
        if event.data is None:
            return None
        marker = self.dialect.done_marker
        if marker is not None and event.data.strip() == marker:
            self._record.terminal = True
            return _DONE
        try:
            value = json.loads(event.data)
        except ValueError:
            self.problems.append("an event's data is not JSON")
            return None
        if not isinstance(value, dict):
            return None
        return value, self.dialect.read_event(value, self._record)

    def _relay(self, event: SseEvent) -> bytes:
        """The event as the caller gets it, after any held fragment it ends."""
        read = self._read(event)
        if read is _DONE:
            return self._flush_all() + event.raw
        if not isinstance(read, tuple):
            return event.raw
        value, pieces = read
        changed = self._restore_pieces(pieces)
        before, appended = self._flush_ended(value, pieces)
        if not pieces:
            value, changed = restore_json(value, self.placeholders)
        if changed or appended:
            return before + replace_data(event.raw, _encode(value))
        return before + event.raw

    @property
    def placeholders(self) -> Placeholders:
        assert self._restorer is not None
        return self._restorer.placeholders

    def _restore_pieces(self, pieces: list[Piece]) -> bool:
        assert self._restorer is not None
        changed = False
        for piece in pieces:
            text = piece.holder[piece.field]
            sent = self._restorer.feed(piece.key, text, piece.json_text)
            self._flushers[piece.key] = piece
            if sent != text:
                piece.holder[piece.field] = sent
                changed = True
        return changed

    def _flush_ended(self, value: JsonObject, pieces: list[Piece]) -> tuple[bytes, bool]:
        """Fragments of the streams `value` ends: appended to its own delta for a stream
        it carries one of, else sent as an event of their own before it."""
        assert self._restorer is not None
        pending = self._restorer.pending
        if self.dialect.ends_all(value):
            ended = list(pending)
        else:
            ended = list(self.dialect.closes(value, list(pending)))
        own = {piece.key: piece for piece in pieces}
        before: list[bytes] = []
        appended = False
        for key in ended:
            fragment = self._restorer.flush(key)
            if not fragment:
                continue
            if key in own:
                own[key].holder[own[key].field] += fragment
                appended = True
            else:
                before.append(self._flush_event(key, fragment))
        return b"".join(before), appended

    def _flush_all(self) -> bytes:
        assert self._restorer is not None
        keys = list(self._restorer.pending)
        return b"".join(self._flush_event(key, self._restorer.flush(key)) for key in keys)

    def _flush_event(self, key: Hashable, fragment: str) -> bytes:
        value = self._flushers[key].flush(fragment)
        return encode_event(_encode(value), self.dialect.event_name(value))

    def _give_up(self, problem: str) -> bytes:
        """Stop reading: note why and hand back every byte held, as it came."""
        self.problems.append(problem)
        log.warning("llm response relayed unread: %s", problem)
        self._mode = "raw"
        held = b"".join(self._held) if self.rewrites_response else b""
        self._held = []
        return held + self._parser.close() if self.rewrites_response else held

    def __repr__(self) -> str:  # never print prompts
        return f"LlmExchange({self.dialect.name}, model={self.model!r}, stream={self.stream})"


def _json_object(body_in: bytes) -> JsonObject:
    try:
        value = json.loads(body_in)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LlmRequestError(400, f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise LlmRequestError(400, "the request body must be a JSON object")
    return value


def _encode(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

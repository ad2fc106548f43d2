"""Masking the body of a generic HTTP response for a session with a masking profile.

Only what can be masked whole is passed on: a JSON or text body of at most
MAX_MASKED_BODY bytes, not compressed, in UTF-8. JSON string values are masked
recursively (the profile's JSON key rules apply); text is masked as free text. Anything
else (binary, larger, compressed, streamed) is refused with 502: a masked session never
receives a body the gateway could not read (fail closed).
"""

from __future__ import annotations

from dataplane.masking.values import MaskingFailed, ValueMasker

MAX_MASKED_BODY = 8 * 1024 * 1024
IDENTITY_ENCODINGS = frozenset({"", "identity"})


class CannotMask(Exception):
    """The response cannot be masked and is refused (502)."""


def body_kind(content_type: str | None) -> str:
    """ "json", "text" or "" (not maskable) for a Content-Type."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return "json"
    if media.startswith("text/") and media != "text/event-stream":
        return "text"
    if media in ("application/xml", "application/x-www-form-urlencoded") or media.endswith("+xml"):
        return "text"
    return ""


def check_maskable(
    content_type: str | None, content_encoding: str | None, length: int | None
) -> str:
    """The body kind when a response with these headers can be masked; raise CannotMask."""
    kind = body_kind(content_type)
    if not kind:
        raise CannotMask(f"a {content_type or 'untyped'} response cannot be masked")
    if (content_encoding or "").strip().lower() not in IDENTITY_ENCODINGS:
        raise CannotMask("a compressed response cannot be masked")
    if length is not None and length > MAX_MASKED_BODY:
        raise CannotMask("the response is too large to be masked")
    return kind


def mask_body(masker: ValueMasker, kind: str, body: bytes) -> bytes:
    """The body with its values masked (kind "json" or "text"); raise CannotMask."""
    if len(body) > MAX_MASKED_BODY:
        raise CannotMask("the response is too large to be masked")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise CannotMask("the response is not UTF-8 text") from None
    try:
        masked = masker.mask_json("", text) if kind == "json" else masker.mask_text("", text)
    except MaskingFailed as exc:
        raise CannotMask(f"masking the response failed ({exc.reason})") from exc
    finally:
        masker.statement_finished()
    return masked.encode("utf-8")

"""Driving an exchange the way the HTTP plug-in does."""

from __future__ import annotations

from itertools import pairwise

from dataplane.llm import LlmExchange, open_llm_exchange

KEY = bytes(range(32))
PATHS = {
    "chat": ("openai", "/v1/chat/completions"),
    "responses": ("openai", "/v1/responses"),
    "messages": ("anthropic", "/v1/messages"),
}


def opened(dialect: str, privacy: str = "mask") -> LlmExchange:
    api, path = PATHS[dialect]
    exchange = open_llm_exchange(api, "POST", path, privacy, None, KEY)
    assert exchange is not None
    return exchange


def relayed(exchange: LlmExchange, response: bytes, cuts: list[int] | None = None) -> bytes:
    """What the caller receives when the upstream's body arrives cut at `cuts`."""
    bounds = [0, *(cuts or []), len(response)]
    out = [exchange.response_chunk(response[a:b]) for a, b in pairwise(bounds)]
    return b"".join(out) + exchange.response_end()

"""The request and response shapes of the model APIs an llm resource speaks."""

from __future__ import annotations

from dataplane.contract.snapshot import LlmApi
from dataplane.llm.dialects.base import Dialect
from dataplane.llm.dialects.chat import ChatCompletions
from dataplane.llm.dialects.messages import Messages
from dataplane.llm.dialects.responses import Responses

# (api, path suffix) -> dialect, for POST requests; the resource's base may be "/v1".
DIALECTS: dict[tuple[str, str], Dialect] = {
    (LlmApi.OPENAI, "/chat/completions"): ChatCompletions(),
    (LlmApi.OPENAI, "/responses"): Responses(),
    (LlmApi.ANTHROPIC, "/messages"): Messages(),
    (LlmApi.ANTHROPIC, "/messages/count_tokens"): Messages(),
}


def dialect_for(api: str, method: str, path: str) -> Dialect | None:
    """The dialect of a model call, or None for any other request (GET /v1/models...)."""
    if method.upper() != "POST":
        return None
    path = path.split("?", 1)[0].rstrip("/")
    for (dialect_api, suffix), dialect in DIALECTS.items():
        if dialect_api == api and path.endswith(suffix):
            return dialect
    return None

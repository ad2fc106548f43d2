"""The bridge to the LLM layer (dataplane/llm): which requests on an llm resource are model
calls, and the per-call object that rewrites their bodies.

A model call's request is read whole and handed to the LLM layer (it masks the prompt per
the resource's prompt privacy); its response passes through the same object chunk by chunk
(it restores placeholders and collects the completion for the audit). Requests on an llm
resource that are not model calls (``GET /v1/models``) are relayed as plain HTTP; one with
a body is refused while prompt privacy is on (see ``Exchange._unguarded_prompt``).
"""

from __future__ import annotations

from typing import Protocol

from dataplane.contract import HttpSettings, MaskingProfile, Snapshot
from dataplane.core.addons import LlmCall
from dataplane.core.session import Session
from dataplane.llm import open_llm_exchange


class ModelCall(Protocol):
    """One model call in flight (dataplane.llm's LlmExchange)."""

    @property
    def stream(self) -> bool: ...

    @property
    def model(self) -> str: ...

    def request(self, body: bytes) -> bytes: ...

    def response_chunk(self, data: bytes) -> bytes: ...

    def response_end(self) -> bytes: ...

    def finish(self, status: int, time_to_first_chunk_s: float | None) -> LlmCall: ...


def open_model_call(
    settings: HttpSettings, method: str, path: str, session: Session, snapshot: Snapshot | None
) -> ModelCall | None:
    """The model call this request is, or None to relay it as plain HTTP."""
    profile, key = _masking(session, snapshot)
    return open_llm_exchange(
        api=settings.llm_api,
        method=method,
        path=path,
        privacy=settings.prompt_privacy,
        profile=profile,
        masking_key=key,
    )


def _masking(session: Session, snapshot: Snapshot | None) -> tuple[MaskingProfile | None, bytes]:
    """The session's masking profile (None: the LLM layer's default) and the deployment's
    masking key."""
    if snapshot is None:
        return None, b""
    profile = snapshot.masking_profile(session.masking_profile)
    return profile, bytes.fromhex(snapshot.masking_key) if snapshot.masking_key else b""

"""The agent's end of the websocket, in-process, for driving AgentConsumer in tests.

``channels.testing.WebsocketCommunicator`` would do, but importing ``channels.testing``
pulls in daphne, which Gatehouse does not install; this is the same few lines on top of
asgiref's ApplicationCommunicator, shaped around the wire contract's envelopes.
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.testing import ApplicationCommunicator

from controlplane.asgi import application
from dataplane.contract import Envelope, encode_envelope
from dataplane.contract.envelopes import AGENT_WEBSOCKET_PATH

TIMEOUT = 5.0


class AgentLink(ApplicationCommunicator):
    def __init__(self, token: str | None, *, extensions: dict[str, Any] | None = None) -> None:
        headers = [(b"authorization", f"Bearer {token}".encode())] if token is not None else []
        scope = {
            "type": "websocket",
            "path": AGENT_WEBSOCKET_PATH,
            "query_string": b"",
            "headers": headers,
            "subprotocols": [],
            "extensions": extensions or {},
        }
        super().__init__(application, scope)

    async def connect(self) -> tuple[bool, int | None]:
        """(True, None) when accepted, (False, close code) when refused."""
        await self.send_input({"type": "websocket.connect"})
        response = await self.receive_output(TIMEOUT)
        if response["type"] == "websocket.close":
            return False, response.get("code", 1000)
        assert response["type"] == "websocket.accept", response
        return True, None

    async def send_frame(self, text: str) -> None:
        await self.send_input({"type": "websocket.receive", "text": text})

    async def send(self, kind: str, **body: Any) -> None:
        await self.send_frame(encode_envelope(Envelope(type=kind, body=body)))

    async def receive(self, wait_s: float = TIMEOUT) -> dict[str, Any]:
        response = await self.receive_output(wait_s)
        assert response["type"] == "websocket.send", response
        return json.loads(response["text"])

    async def receive_close_code(self, wait_s: float = TIMEOUT) -> int:
        response = await self.receive_output(wait_s)
        assert response["type"] == "websocket.close", response
        return int(response.get("code", 1000))

    async def disconnect(self, code: int = 1000) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": code})
        await self.wait(TIMEOUT)

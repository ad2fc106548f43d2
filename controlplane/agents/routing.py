"""Websocket routes: the agent link at the path the wire contract names."""

from django.urls import path

from controlplane.agents.consumers import AgentConsumer
from dataplane.contract.envelopes import AGENT_WEBSOCKET_PATH

websocket_urlpatterns = [
    path(AGENT_WEBSOCKET_PATH.lstrip("/"), AgentConsumer.as_asgi()),
]

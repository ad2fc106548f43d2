"""The MCP endpoint as the ASGI server mounts it (``controlplane/asgi.py``): requests to
``/mcp`` go to the MCP transport, everything else to Django."""

from __future__ import annotations

from django.conf import settings
from starlette.types import ASGIApp, Receive, Scope, Send

from controlplane.mcp_server.tools import server
from controlplane.mcp_server.transport import McpEndpoint

MOUNT = "/mcp"

mcp_endpoint = McpEndpoint(server, stateless=settings.GATEHOUSE_MCP_STATELESS)


def with_mcp(django_http: ASGIApp) -> ASGIApp:
    """``django_http``, with ``/mcp`` (and below it) served by the MCP endpoint."""

    async def route(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if path == MOUNT or path.startswith(MOUNT + "/"):
            await mcp_endpoint(scope, receive, send)
        else:
            await django_http(scope, receive, send)

    return route

"""The ASGI application: Django for HTTP, the MCP server at /mcp, the agent link for
websockets.

Serve with ``uvicorn controlplane.asgi:application``.
"""

import os

from channels.routing import ProtocolTypeRouter, URLRouter
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
# Set Django up (app registry, settings) before anything imports models.
django_http = get_asgi_application()

from controlplane.agents.routing import websocket_urlpatterns  # noqa: E402
from controlplane.mcp_server.app import mcp_endpoint, with_mcp  # noqa: E402

# No origin check on the websocket: agents are not browsers, send no Origin header, and
# authenticate with a bearer token rather than cookies, so cross-site hijacking does not apply.
application = ProtocolTypeRouter(
    {
        "http": with_mcp(ASGIStaticFilesHandler(django_http) if settings.DEBUG else django_http),
        "websocket": URLRouter(websocket_urlpatterns),
        # The MCP server's session manager runs for the server's lifetime (or from the first
        # /mcp request where the server sends no lifespan events).
        "lifespan": mcp_endpoint.lifespan,
    }
)

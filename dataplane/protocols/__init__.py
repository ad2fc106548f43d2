"""Protocol plug-ins: a folder each, and one line in PROTOCOLS to register it."""

from __future__ import annotations

from collections.abc import Callable

from dataplane.core.server import ConnectionHandler, GatewayServices
from dataplane.protocols.http.proxy import HttpProxy
from dataplane.protocols.postgres.proxy import PostgresProxy

# protocol name -> factory of the per-listener connection handler
PROTOCOLS: dict[str, Callable[[GatewayServices], ConnectionHandler]] = {
    "postgres": PostgresProxy,
    "http": HttpProxy,  # http and llm resources
}

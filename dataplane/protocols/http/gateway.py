"""What every connection on one HTTP listener shares: the agent's services, the upstream
clients, the resources' credentials and the per-identity budgets."""

from __future__ import annotations

from dataplane.contract import HttpSettings
from dataplane.core.server import GatewayServices
from dataplane.core.session import Session
from dataplane.llm import BudgetBook
from dataplane.protocols.http.credentials import UpstreamCredentials
from dataplane.protocols.http.layer import RequestHead
from dataplane.protocols.http.model_calls import ModelCall, open_model_call
from dataplane.protocols.http.routing import Target
from dataplane.protocols.http.upstream import UpstreamClients


class HttpGateway:
    """The HTTP plug-in's shared state (one per listener)."""

    def __init__(self, services: GatewayServices) -> None:
        self.services = services
        self.upstreams = UpstreamClients()
        self.credentials = UpstreamCredentials(self.upstreams.token_fetcher)
        self.budgets = BudgetBook()

    def open_model_call(
        self, settings: HttpSettings, head: RequestHead, target: Target, session: Session
    ) -> ModelCall | None:
        """The model call a request on an llm resource is (None: relayed as plain HTTP)."""
        if session.resource is None or session.resource.protocol != "llm":
            return None
        snapshot = self.services.config.snapshot
        return open_model_call(settings, head.method, target.path, session, snapshot)

    async def aclose(self) -> None:
        """Close the upstream clients (their kept-alive connections)."""
        await self.upstreams.aclose()

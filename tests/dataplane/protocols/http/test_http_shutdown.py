"""At agent shutdown the HTTP plug-in's upstream clients close (their kept-alive
connections with them); a handler that fails to close does not stop the others."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dataplane.contract import HttpSettings, ResourceSpec
from dataplane.core.addons import AddonChain
from dataplane.core.config import ConfigStore
from dataplane.core.server import GatewayServices, close_handlers
from dataplane.core.session import SessionRegistry
from dataplane.protocols.http.proxy import HttpProxy


def services() -> GatewayServices:
    return GatewayServices(
        config=ConfigStore(),
        chain=AddonChain([]),
        sessions=SessionRegistry(),
        tls=None,
        allow_plaintext=True,
    )


def resource(name: str) -> ResourceSpec:
    return ResourceSpec(
        name=name, protocol="http", host="127.0.0.1", port=1, database="",
        upstream_user="", upstream_password="k", http=HttpSettings(),
    )  # fmt: skip


class BrokenHandler:
    async def __call__(self, reader: object, writer: object) -> None:
        raise AssertionError("not called")

    async def aclose(self) -> None:
        raise RuntimeError("cannot close")


def test_closing_the_http_plug_in_closes_every_upstream_client() -> None:
    proxy = HttpProxy(services())
    upstreams = proxy.gateway.upstreams
    clients = [upstreams.client_for(resource(name), HttpSettings()) for name in ("a", "b")]

    asyncio.run(close_handlers([proxy]))

    assert all(client.is_closed for client in clients)


def test_a_handler_failing_to_close_is_logged_and_the_others_still_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = HttpProxy(services())
    client = proxy.gateway.upstreams.client_for(resource("a"), HttpSettings())

    with caplog.at_level(logging.ERROR, logger="gatehouse.server"):
        asyncio.run(close_handlers([BrokenHandler(), proxy]))

    assert client.is_closed
    assert "closing a connection handler failed" in caplog.text

"""Every way a connection is refused: protocol-correct errors, no upstream contact, audited."""

from __future__ import annotations

import asyncio
import struct
import time

import asyncpg
import pytest

from dataplane.protocols.postgres.wire import messages
from tests.integration.conftest import AI_ACCOUNT, NO_GRANT_ACCOUNT, Gateway
from tests.integration.pgraw import RawClient

pytestmark = pytest.mark.integration


def _connect(
    gateway: Gateway, *, password: str, database: str = "appdb", ssl: str | bool = "require"
) -> None:
    async def attempt() -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=gateway.agent.postgres_port,
            user="someone",
            password=password,
            database=database,
            ssl=ssl,
            timeout=10,
        )
        await conn.close()

    asyncio.run(attempt())


def _refusals(gateway: Gateway, reason: str, since: int) -> list[dict]:
    return gateway.wait_for_events(
        lambda evs: any(e["payload"]["reason"] == reason and e["id"] > since for e in evs),
        action="connection.refused",
    )


def _last_event_id(gateway: Gateway) -> int:
    events = gateway.cp.api("GET", "/api/v1/audit/events?page_size=1")["results"]
    return int(events[0]["id"]) if events else 0


def test_a_bad_token_gets_28P01_and_no_upstream_connection_is_attempted(gateway):
    before, mark = gateway.pg.connections_received(), _last_event_id(gateway)
    with pytest.raises(asyncpg.InvalidPasswordError, match="invalid gateway token"):
        _connect(gateway, password="not-a-token")
    assert gateway.pg.connections_received() == before
    _refusals(gateway, "bad_credentials", mark)


def test_an_expired_token_gets_28P01(gateway):
    token = gateway.cp.manage("mint_token", "--identity", AI_ACCOUNT, "--ttl", "1").strip()
    time.sleep(7)  # 1 s lifetime + the agent's 5 s clock-skew leeway
    before = gateway.pg.connections_received()
    with pytest.raises(asyncpg.InvalidPasswordError):
        _connect(gateway, password=token)
    assert gateway.pg.connections_received() == before


def test_an_identity_without_a_grant_gets_28000_saying_so(gateway):
    before, mark = gateway.pg.connections_received(), _last_event_id(gateway)
    with pytest.raises(
        asyncpg.InvalidAuthorizationSpecificationError,
        match=f'no active access grant for "{NO_GRANT_ACCOUNT}"',
    ):
        _connect(gateway, password=gateway.token(NO_GRANT_ACCOUNT))
    assert gateway.pg.connections_received() == before
    events = _refusals(gateway, "no_grant", mark)
    assert any(e["actor_name"] == NO_GRANT_ACCOUNT for e in events)


def test_an_unknown_resource_gets_3D000(gateway):
    mark = _last_event_id(gateway)
    with pytest.raises(asyncpg.InvalidCatalogNameError, match='resource "nope" does not exist'):
        _connect(gateway, password=gateway.token(), database="nope")
    _refusals(gateway, "unknown_resource", mark)


def test_plaintext_is_refused_unless_explicitly_allowed(gateway):
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="requires TLS"):
        _connect(gateway, password=gateway.token(), ssl=False)


def test_a_garbage_startup_packet_gets_08P01_and_the_agent_carries_on(gateway):
    mark = _last_event_id(gateway)
    raw = RawClient(gateway.agent.postgres_port, tls=False)
    raw.send(struct.pack("!II", 8, 1234))  # protocol version 0.1234
    error = raw.read_error()
    assert error["S"] == "FATAL" and error["C"] in {"08P01", "0A000"}
    assert raw.closed_by_peer()
    _refusals(gateway, "protocol_violation", mark)
    _connect(gateway, password=gateway.token())  # still serving


def test_an_oversized_startup_packet_gets_08P01(gateway):
    raw = RawClient(gateway.agent.postgres_port, tls=False)
    raw.send(struct.pack("!II", 1_000_000, 196608))
    assert raw.read_error()["C"] == "08P01"
    assert raw.closed_by_peer()


def test_a_truncated_startup_packet_then_hang_up_does_not_hurt_the_agent(gateway):
    raw = RawClient(gateway.agent.postgres_port, tls=False)
    raw.send(struct.pack("!II", 100, 196608) + b"user\0")
    raw.close()
    _connect(gateway, password=gateway.token())


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b"Q" + struct.pack("!I", 2), id="length-below-four"),
        pytest.param(b"Q" + struct.pack("!I", 0x7FFFFFF0), id="oversized"),
        pytest.param(b"B" + struct.pack("!I", 9) + b"\0\0\0\0\0", id="truncated-bind"),
    ],
)
def test_a_malformed_message_in_session_gets_a_fatal_08P01(gateway, frame):
    raw = RawClient(gateway.agent.postgres_port)
    raw.login(resource="appdb", token=gateway.token())
    raw.send(frame)
    error = raw.read_error()
    assert error["S"] == "FATAL" and error["C"] == "08P01"
    assert raw.closed_by_peer()
    _connect(gateway, password=gateway.token())


def test_a_well_formed_session_over_the_raw_client_works(gateway):
    raw = RawClient(gateway.agent.postgres_port)
    raw.login(resource="appdb", token=gateway.token())
    raw.send(messages.terminate())
    assert raw.closed_by_peer()

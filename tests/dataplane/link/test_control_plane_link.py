"""ControlPlaneLink against a small real websocket peer playing the control plane's part.

The peer below speaks the agent envelopes the way the control plane does (welcome with the
last stored seq, snapshot, acks, 4401 for a bad agent token) and stores each seq once, like
the real audit store; the Django control plane itself is covered by the integration tests.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import socket
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any, TypeVar

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from dataplane.contract import (
    Action,
    Actor,
    Envelope,
    GrantSpec,
    ResourceSpec,
    Snapshot,
    decode_envelope,
    encode_envelope,
)
from dataplane.contract.envelopes import AGENT_WEBSOCKET_PATH
from dataplane.core.config import ConfigStore
from dataplane.core.tasks import cancel_and_wait, spawn
from dataplane.link.client import Backoff, ControlPlaneLink, LinkState, websocket_url
from dataplane.link.spool import Spool

AGENT_TOKEN = "gh-agent-token-do-not-log-me"
T = TypeVar("T")

SNAPSHOT = Snapshot(
    revision=7,
    agent_id="agent-1",
    agent_name="eu-west",
    token_keys=(),
    resources=(
        ResourceSpec(
            name="orders-db",
            protocol="postgres",
            host="127.0.0.1",
            port=5432,
            database="orders",
            upstream_user="gatehouse",
            upstream_password="s3cret",
        ),
    ),
    grants=(
        GrantSpec(
            id="g-1",
            identity="id-alice",
            resource="orders-db",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        ),
    ),
)


class ControlPlanePeer:
    """The control plane's side of the agent websocket, in miniature."""

    def __init__(
        self,
        *,
        stored_through: int = 0,
        acks: bool = True,
        reject: str = "",  # "", "close" (4401 after accepting) or "http" (403)
        first_frames: list[dict[str, Any]] | None = None,
    ) -> None:
        self.last_seq = stored_through  # the control plane stores each seq once, in order
        self.acks = acks
        self.reject = reject
        self.first_frames = first_frames or []  # sent instead of welcome on the 1st connection
        self.received: list[int] = []  # every seq in every events frame, in arrival order
        self.batches: list[list[int]] = []
        self.hellos: list[dict[str, Any]] = []
        self.heartbeats: list[dict[str, Any]] = []
        self.binary_frames = 0  # the contract has text frames only
        self.connections = 0
        self.close_codes: list[int | None] = []  # how agents ended welcomed connections
        self.port = 0
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(
            self._serve, "127.0.0.1", self.port, process_request=self._authenticate
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def _authenticate(self, connection: ServerConnection, request: Request) -> Response | None:
        self.connections += 1
        if request.path != AGENT_WEBSOCKET_PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "no such path\n")
        if self.reject == "http":
            return connection.respond(HTTPStatus.FORBIDDEN, "agent token refused\n")
        return None

    async def _serve(self, websocket: ServerConnection) -> None:
        assert websocket.request is not None
        if self.reject == "close" or not _bearer_ok(websocket.request.headers):
            await websocket.close(4401, "invalid agent token")
            return
        self.hellos.append(self._decode(await websocket.recv(), "hello"))
        if self.connections == 1 and self.first_frames:
            for body in self.first_frames:
                await websocket.send(encode_envelope(Envelope(body["type"], body["body"])))
            await websocket.wait_closed()
            return
        await self._send(websocket, "welcome", last_seq=self.last_seq)
        await self._send(websocket, "snapshot", snapshot=SNAPSHOT.to_dict())
        async for frame in websocket:
            self.binary_frames += isinstance(frame, bytes)
            await self._on_frame(websocket, decode_envelope(frame))
        self.close_codes.append(websocket.close_code)

    async def _on_frame(self, websocket: ServerConnection, envelope: Envelope) -> None:
        if envelope.type == "heartbeat":
            self.heartbeats.append(envelope.body)
            return
        assert envelope.type == "events"
        batch = [event["seq"] for event in envelope.body["events"]]
        self.batches.append(batch)
        self.received.extend(batch)
        for seq in batch:
            if seq == self.last_seq + 1:
                self.last_seq = seq
        if self.acks:
            await self._send(websocket, "ack", seq=self.last_seq)

    @staticmethod
    async def _send(websocket: ServerConnection, kind: str, **body: Any) -> None:
        await websocket.send(encode_envelope(Envelope(kind, body)))

    @staticmethod
    def _decode(frame: str | bytes, expected: str) -> dict[str, Any]:
        envelope = decode_envelope(frame)
        assert envelope.type == expected
        return envelope.body


def _bearer_ok(headers: Headers) -> bool:
    return headers.get("Authorization") == f"Bearer {AGENT_TOKEN}"


class Agent:
    """A spool, a config store and a link, wired as the agent wires them."""

    def __init__(self, spool: Spool, url: str, **options: Any) -> None:
        self.spool = spool
        self.config = ConfigStore()
        self.snapshots: list[Snapshot] = []
        self.config.subscribe(self.snapshots.append)
        defaults: dict[str, Any] = {
            "heartbeat_interval_s": 0.05,
            "backoff_initial_s": 0.02,
            "backoff_max_s": 0.1,
        }
        self.link = ControlPlaneLink(
            url=url,
            agent_token=options.pop("agent_token", AGENT_TOKEN),
            spool=spool,
            on_snapshot=self.config.update,
            agent_version="0.1.0-test",
            revision=lambda: self.config.revision,
            sessions=lambda: 3,
            **{**defaults, **options},
        )
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = spawn(self.link.run(), name="test-link")

    async def stop(self) -> None:
        assert self.task is not None
        await cancel_and_wait(self.task)
        assert self.task.cancelled(), "the link must only end by cancellation"

    def record(self, count: int) -> None:
        for _ in range(count):
            self.spool.append(
                time="2025-06-01T12:00:00.000000Z",
                action=Action.STATEMENT.value,
                actor=Actor(sub="id-alice", kind="user", name="alice"),
                resource="orders-db",
                protocol="postgres",
                session="s-1",
                payload={"statement": "SELECT 1"},
            )


def run(scenario: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        async with asyncio.timeout(20):
            return await scenario()

    return asyncio.run(bounded())


async def eventually(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    """Poll ``condition`` (state in other objects, with no event to wait on)."""
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 (polling is the point)
            await asyncio.sleep(0.01)


def test_hello_welcome_and_the_snapshot_reach_the_config_store(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer()
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.start()

        async with asyncio.timeout(5):
            await agent.link.wait_connected()
        await eventually(lambda: agent.config.revision == 7)

        assert agent.link.connected
        assert agent.link.state is LinkState.CONNECTED
        assert peer.hellos == [{"agent_version": "0.1.0-test", "revision": 0}]
        assert agent.snapshots == [SNAPSHOT]
        assert agent.config.resource("orders-db") is not None
        await agent.stop()
        assert not agent.link.connected
        assert agent.link.state is LinkState.STOPPED
        await eventually(lambda: peer.close_codes == [1001])  # going away, not an error
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_events_are_sent_acknowledged_and_drained_from_the_spool(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer()
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url, batch_max=5)
        agent.record(12)
        agent.start()

        await eventually(lambda: agent.spool.acked_seq == 12)

        assert peer.received == list(range(1, 13))
        assert all(len(batch) <= 5 for batch in peer.batches)
        assert agent.spool.backlog == 0
        assert agent.spool.durable_pending(100) == []
        agent.record(3)
        await eventually(lambda: agent.spool.acked_seq == 15)
        assert peer.received == list(range(1, 16))
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_a_backlog_too_big_for_one_frame_is_sent_in_text_frames_that_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each recorded event is about 230 bytes of JSON: 4 fit in a frame of 1,000 bytes.
    monkeypatch.setattr("dataplane.link.client.EVENTS_FRAME_BYTES", 1_000)

    async def scenario() -> None:
        peer = ControlPlanePeer()
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url, batch_max=500, batch_linger_s=0)
        agent.record(30)
        await agent.spool.flush()
        agent.start()

        await eventually(lambda: agent.spool.acked_seq == 30)

        assert peer.received == list(range(1, 31))
        assert 1 < max(len(batch) for batch in peer.batches) < 30
        assert peer.binary_frames == 0
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_events_are_never_sent_twice_on_one_connection(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer(acks=False)
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.start()
        agent.record(3)
        await eventually(lambda: len(peer.received) == 3)
        agent.record(2)
        await eventually(lambda: len(peer.received) == 5)
        await asyncio.sleep(0.1)

        assert peer.received == [1, 2, 3, 4, 5]
        assert agent.spool.acked_seq == 0
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_a_control_plane_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer()
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.start()
        agent.record(20)
        await eventually(lambda: peer.last_seq == 20)

        await peer.stop()
        await eventually(lambda: not agent.link.connected)
        agent.record(30)
        await asyncio.sleep(0.2)  # a few failed reconnects
        await peer.start()  # same port
        agent.record(10)

        await eventually(lambda: agent.spool.acked_seq == 60)
        assert peer.received == list(range(1, 61))
        assert max(Counter(peer.received).values()) == 1
        assert peer.connections >= 2
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_the_welcome_watermark_keeps_stored_events_from_being_resent(tmp_path: Path) -> None:
    async def scenario() -> None:
        spool = await Spool.open(tmp_path)
        agent = Agent(spool, "ws://unused")
        agent.record(8)
        await spool.flush()
        peer = ControlPlanePeer(stored_through=5)  # got 1-5 before the agent restarted
        await peer.start()
        agent = Agent(spool, peer.url)
        agent.start()

        await eventually(lambda: spool.acked_seq == 8)

        assert peer.received == [6, 7, 8]
        await agent.stop()
        await spool.close()
        await peer.stop()

    run(scenario)


def test_heartbeats_report_revision_backlog_and_sessions(tmp_path: Path) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer(acks=False)
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.record(2)
        agent.start()

        await eventually(lambda: len(peer.heartbeats) >= 3)

        assert peer.heartbeats[-1] == {"revision": 7, "spool_backlog": 2, "sessions": 3}
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_a_malformed_snapshot_is_logged_and_the_link_reconnects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        broken = {"type": "snapshot", "body": {"snapshot": {"format": 99}}}
        welcome = {"type": "welcome", "body": {"last_seq": 0}}
        peer = ControlPlanePeer(first_frames=[welcome, broken])
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.start()

        await eventually(lambda: agent.config.revision == 7)

        assert peer.connections == 2
        assert agent.snapshots == [SNAPSHOT]
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)
    assert "unsupported snapshot format 99" in caplog.text


def test_an_error_frame_is_logged_and_the_link_reconnects(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer(first_frames=[{"type": "error", "body": {"message": "agent gone"}}])
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.start()

        await eventually(lambda: agent.link.connected)

        assert peer.connections == 2
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)
    errors = [r for r in caplog.records if r.name == "gatehouse.link" and r.levelname == "ERROR"]
    assert any("agent gone" in record.getMessage() for record in errors)


@pytest.mark.parametrize("reject", ["close", "http"])
def test_a_rejected_agent_token_is_logged_as_an_error_and_retried(
    reject: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        peer = ControlPlanePeer(reject=reject)
        await peer.start()
        agent = Agent(await Spool.open(tmp_path), peer.url, backoff_max_s=0.05)
        agent.start()

        await eventually(lambda: peer.connections >= 3)

        assert not agent.link.connected
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)
    rejections = [
        r
        for r in caplog.records
        if r.name == "gatehouse.link" and r.levelname == "ERROR" and "rejected" in r.getMessage()
    ]
    assert len(rejections) >= 2
    assert AGENT_TOKEN not in caplog.text


def test_reconnect_attempts_back_off_but_never_beyond_the_maximum(tmp_path: Path) -> None:
    async def scenario() -> list[float]:
        attempts: list[float] = []
        loop = asyncio.get_running_loop()

        async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            attempts.append(loop.time())
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        agent = Agent(
            await Spool.open(tmp_path),
            f"ws://127.0.0.1:{port}",
            backoff_initial_s=0.01,
            backoff_max_s=0.08,
        )
        agent.start()
        await asyncio.sleep(1.0)
        await agent.stop()
        await agent.spool.close()
        server.close()
        await server.wait_closed()
        return attempts

    attempts = run(scenario)
    gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
    assert len(attempts) >= 8
    assert max(gaps) < 0.08 + 0.1  # the ceiling plus scheduling slack


def test_a_refused_connection_is_retried_until_the_control_plane_appears(tmp_path: Path) -> None:
    async def scenario() -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        peer = ControlPlanePeer()
        peer.port = port
        agent = Agent(await Spool.open(tmp_path), peer.url)
        agent.record(1)
        agent.start()
        await asyncio.sleep(0.2)
        assert not agent.link.connected

        await peer.start()
        await eventually(lambda: agent.spool.acked_seq == 1)
        await agent.stop()
        await agent.spool.close()
        await peer.stop()

    run(scenario)


def test_backoff_grows_exponentially_with_full_jitter_and_resets() -> None:
    backoff = Backoff(0.2, 5.0, rng=random.Random(7))
    ceilings = [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 5.0]

    delays = [backoff.next_delay() for _ in ceilings]

    assert all(0 <= delay <= ceiling for delay, ceiling in zip(delays, ceilings, strict=True))
    assert max(delays[5:]) > 1.6  # grows past the early ceilings
    backoff.reset()
    assert backoff.next_delay() <= 0.2


@pytest.mark.parametrize(
    ("base", "endpoint"),
    [
        ("http://cp:8000", "ws://cp:8000/ws/agent/"),
        ("https://cp.example/", "wss://cp.example/ws/agent/"),
        ("ws://127.0.0.1:9", "ws://127.0.0.1:9/ws/agent/"),
        ("wss://cp.example/gatehouse", "wss://cp.example/gatehouse/ws/agent/"),
    ],
)
def test_the_endpoint_is_derived_from_the_control_plane_base_url(base: str, endpoint: str) -> None:
    assert websocket_url(base) == endpoint


def test_a_url_that_is_not_http_or_websocket_is_refused() -> None:
    with pytest.raises(ValueError):
        websocket_url("ftp://cp")

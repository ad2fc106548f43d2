"""The access and audit addons in their chain: who gets in, when sessions end, what is recorded."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataplane.addons import default_addons
from dataplane.addons.audit import UtcClock
from dataplane.contract import GrantSpec, ResourceSpec, Snapshot, TokenKey
from dataplane.core.addons import (
    Addon,
    AddonChain,
    ConnectRequest,
    Refusal,
    RefusalKind,
    Statement,
)
from dataplane.core.config import ConfigStore
from dataplane.core.consumed_grants import ConsumedGrants
from dataplane.core.holds import HoldDesk
from dataplane.core.session import Session, SessionRegistry
from dataplane.link.spool import Spool

KEY = Ed25519PrivateKey.generate()
SMITH = "9f1c0d4e-0000-4000-8000-000000000001"
ORDERS = ResourceSpec(
    name="orders",
    protocol="postgres",
    host="127.0.0.1",
    port=5432,
    database="orders",
    upstream_user="app",
    upstream_password="pw",
)


def token(sub: str = SMITH, name: str = "agent-smith", ttl: int = 300) -> str:
    now = int(time.time())
    claims = {
        "iss": "gatehouse",
        "aud": "gatehouse-agent",
        "sub": sub,
        "kind": "service_account",
        "name": name,
        "iat": now,
        "exp": now + ttl,
        "jti": f"j-{time.time_ns()}",
    }
    return jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": "k1"})


def snapshot(revision: int, *grants: GrantSpec) -> Snapshot:
    pem = (
        KEY.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return Snapshot(
        revision=revision,
        agent_id="a1",
        agent_name="edge-1",
        token_keys=(TokenKey(kid="k1", alg="EdDSA", public_key_pem=pem),),
        resources=(ORDERS,),
        grants=grants,
    )


def grant(seconds: float, grant_id: str = "g1") -> GrantSpec:
    return GrantSpec(
        id=grant_id,
        identity=SMITH,
        resource="orders",
        expires_at=datetime.now(UTC) + timedelta(seconds=seconds),
    )


class Stack:
    def __init__(self, spool: Spool, consumed: ConsumedGrants) -> None:
        self.config = ConfigStore()
        self.sessions = SessionRegistry()
        self.spool = spool
        self.terminated = asyncio.Event()
        self.chain = AddonChain(
            default_addons(
                config=self.config,
                sessions=self.sessions,
                spool=spool,
                consumed=consumed,
                holds=HoldDesk(),
            )
        )

    async def connect(
        self, *, resource: str = "orders", tok: str | None = None
    ) -> tuple[Session, Refusal | None, list[str]]:
        """Authorise a session as a protocol driver would; collect termination reasons."""
        session = self.session(resource)
        ended: list[str] = []

        def terminate(reason: str) -> None:
            ended.append(reason)
            self.terminated.set()

        session.on_terminate(terminate)
        refusal = await self.chain.authorize(session, ConnectRequest(resource, tok or token()))
        if refusal is None:
            self.sessions.add(session)
            self.chain.session_started(session)
        else:
            self.chain.connection_refused(session, refusal)
        return session, refusal, ended

    def session(self, resource: str = "orders") -> Session:
        return Session(
            protocol="postgres", client_address="127.0.0.1:5555", requested_resource=resource
        )

    async def authorize(self, session: Session) -> Refusal | None:
        return await self.chain.authorize(
            session, ConnectRequest(session.requested_resource, token())
        )

    async def recorded(self) -> list[dict[str, Any]]:
        await self.spool.flush()
        return [e.to_dict() for e in self.spool.durable_pending(1000)]


def run(tmp_path: Path, scenario: Any) -> Any:
    async def main() -> Any:
        spool = await Spool.open(tmp_path / "spool")
        consumed = ConsumedGrants.open(tmp_path / "consumed-grants", now=datetime.now(UTC))
        try:
            return await scenario(Stack(spool, consumed))
        finally:
            await spool.close()

    return asyncio.run(main())


def test_before_any_snapshot_every_connection_is_refused_as_not_ready(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> Refusal | None:
        return (await stack.connect())[1]

    refusal = run(tmp_path, scenario)
    assert refusal is not None and refusal.kind is RefusalKind.NOT_READY


def test_token_then_resource_then_grant_decide_in_that_order(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> list[RefusalKind | None]:
        stack.config.update(snapshot(1, grant(60)))
        outcomes = []
        for resource, tok in (
            ("nowhere", "garbage"),
            ("nowhere", None),
            ("orders", None),
            ("orders", token(sub="someone-else", name="mallory")),
        ):
            refusal = (await stack.connect(resource=resource, tok=tok))[1]
            outcomes.append(refusal.kind if refusal else None)
        return outcomes

    assert run(tmp_path, scenario) == [
        RefusalKind.BAD_CREDENTIALS,
        RefusalKind.UNKNOWN_RESOURCE,
        None,
        RefusalKind.NO_GRANT,
    ]


def test_a_revoked_grant_ends_the_live_session_on_the_next_snapshot(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> list[str]:
        stack.config.update(snapshot(1, grant(60)))
        _, refusal, ended = await stack.connect()
        assert refusal is None and ended == []
        stack.config.update(snapshot(2))  # the grant is gone
        return ended

    assert run(tmp_path, scenario) == ["access grant ended (revoked or expired)"]


def test_an_expiring_grant_ends_the_session_without_the_control_plane(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> tuple[list[str], float]:
        stack.config.update(snapshot(1, grant(0.3)))
        started = time.monotonic()
        _, _, ended = await stack.connect()
        async with asyncio.timeout(3):
            await stack.terminated.wait()
        return ended, time.monotonic() - started

    ended, elapsed = run(tmp_path, scenario)
    assert ended == ["access grant ended (revoked or expired)"]
    assert 0.25 < elapsed < 1.0


def test_a_longer_grant_arriving_keeps_the_session_alive(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> list[str]:
        stack.config.update(snapshot(1, grant(0.3)))
        _, _, ended = await stack.connect()
        stack.config.update(snapshot(2, grant(0.3), grant(60, grant_id="g2")))
        await asyncio.sleep(0.5)
        return ended

    assert run(tmp_path, scenario) == []


def test_an_addon_that_raises_refuses_the_connection(tmp_path: Path) -> None:
    class Broken(Addon):
        name = "broken"

        async def authorize(self, session: Session, request: ConnectRequest) -> Refusal | None:
            raise RuntimeError("bug")

    async def scenario(stack: Stack) -> Refusal | None:
        chain = AddonChain([Broken()])
        return await chain.authorize(
            Session(protocol="postgres", client_address=""), ConnectRequest("orders", token())
        )

    refusal = run(tmp_path, scenario)
    assert refusal is not None and refusal.kind is RefusalKind.ADDON_FAILURE


def test_audit_records_start_statement_end_and_refusals_with_identity(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> list[dict[str, Any]]:
        stack.config.update(snapshot(1, grant(60)))
        session, _, _ = await stack.connect()
        stack.chain.statement_finished(
            session,
            Statement(
                text="select 1",
                kind="simple",
                parameter_count=0,
                command_tags=("SELECT 1",),
                rows=1,
                error_code=None,
                error_message=None,
                duration_s=0.0012,
            ),
        )
        stack.chain.session_ended(session, "client disconnected")
        await stack.connect(tok="garbage")
        return await stack.recorded()

    events = run(tmp_path, scenario)
    assert [e["action"] for e in events] == [
        "session.start",
        "statement",
        "session.end",
        "connection.refused",
    ]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert {e["actor"]["name"] for e in events[:3]} == {"agent-smith"}
    assert events[1]["payload"]["statement"] == "select 1"
    assert events[1]["payload"]["duration_ms"] == 1.2
    assert events[2]["payload"]["statements"] == 1
    assert events[3]["actor"]["kind"] == "anonymous"
    assert events[3]["payload"]["reason"] == "bad_credentials"


def test_a_huge_statement_is_cut_but_pinned_by_its_digest(tmp_path: Path) -> None:
    async def scenario(stack: Stack) -> dict[str, Any]:
        stack.config.update(snapshot(1, grant(60)))
        session, _, _ = await stack.connect()
        stack.chain.statement_finished(
            session,
            Statement(
                text="select '" + "x" * 100_000 + "'",
                kind="simple",
                parameter_count=0,
                command_tags=("SELECT 1",),
                rows=1,
                error_code=None,
                error_message=None,
                duration_s=0.0,
            ),
        )
        return (await stack.recorded())[1]["payload"]

    payload = run(tmp_path, scenario)
    assert len(payload["statement"]) == 16 * 1024
    assert payload["statement_truncated"] is True and len(payload["statement_sha256"]) == 64


def test_a_statement_event_records_result_columns_and_redacted_sample_rows(
    tmp_path: Path,
) -> None:
    """Sample rows come only from masked sessions; the audit addon redacts them once more."""

    async def scenario(stack: Stack) -> list[dict[str, Any]]:
        stack.config.update(snapshot(1, grant(60)))
        session, _, _ = await stack.connect()
        shaped = Statement(
            text="select id, email from customers",
            kind="simple",
            parameter_count=0,
            command_tags=("SELECT 2",),
            rows=2,
            error_code=None,
            error_message=None,
            duration_s=0.0,
            columns=(("id", "int4", 23), ("email", "text", 25)),
            sample_rows=(("1", "[EMAIL_ADDRESS]"), ("2", "leaked.person@example.com")),
        )
        stack.chain.statement_finished(session, shaped)
        columns_only = Statement(**{**shaped.__dict__, "sample_rows": ()})
        stack.chain.statement_finished(session, columns_only)
        return [event["payload"] for event in (await stack.recorded())[1:3]]

    sampled, unsampled = run(tmp_path, scenario)
    assert sampled["columns"] == [
        {"name": "id", "type": "int4", "oid": 23},
        {"name": "email", "type": "text", "oid": 25},
    ]
    assert sampled["sample_rows"][0] == ["1", "[EMAIL_ADDRESS]"]
    assert "leaked.person@example.com" not in str(sampled["sample_rows"])
    assert unsampled["columns"] == sampled["columns"] and "sample_rows" not in unsampled


def test_a_statement_event_has_the_contract_shape_and_the_time_it_finished(
    tmp_path: Path,
) -> None:
    async def scenario(stack: Stack) -> tuple[dict[str, Any], datetime, datetime]:
        stack.config.update(snapshot(1, grant(60)))
        session, _, _ = await stack.connect()
        before = datetime.now(UTC)
        stack.chain.statement_finished(
            session,
            Statement(
                text="SELECT 'Grüße 🚀' WHERE aid = $1",
                kind="extended",
                parameter_count=1,
                command_tags=("SELECT 1",),
                rows=1,
                error_code="57014",
                error_message="canceling statement due to user request",
                duration_s=0.0002134,
            ),
        )
        after = datetime.now(UTC)
        return (await stack.recorded())[1], before, after

    event, before, after = run(tmp_path, scenario)
    assert list(event) == [
        "format",
        "seq",
        "time",
        "action",
        "actor",
        "resource",
        "protocol",
        "session",
        "payload",
    ]
    assert event["actor"] == {
        "sub": SMITH,
        "kind": "service_account",
        "name": "agent-smith",
        "on_behalf_of": None,
    }
    assert event["payload"] == {
        "statement": "SELECT 'Grüße 🚀' WHERE aid = $1",
        "kind": "extended",
        "parameter_count": 1,
        "command_tags": ["SELECT 1"],
        "rows": 1,
        "duration_ms": 0.213,
        "error": {"code": "57014", "message": "canceling statement due to user request"},
    }
    assert before - timedelta(microseconds=1) <= datetime.fromisoformat(event["time"]) <= after


@pytest.mark.parametrize(
    ("nanoseconds", "expected"),
    [
        (1_748_779_200_000_000_000, "2025-06-01T12:00:00.000000Z"),
        (1_748_779_200_123_456_789, "2025-06-01T12:00:00.123456Z"),
        (1_748_779_259_999_999_999, "2025-06-01T12:00:59.999999Z"),
        (1_748_779_260_000_001_000, "2025-06-01T12:01:00.000001Z"),
        (1_767_225_599_999_999_000, "2025-12-31T23:59:59.999999Z"),
        (1_767_225_600_000_000_000, "2026-01-01T00:00:00.000000Z"),
    ],
)
def test_audit_times_are_rfc3339_utc_with_microseconds(
    nanoseconds: int, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = UtcClock()
    monkeypatch.setattr(time, "time_ns", lambda: nanoseconds - 1_000_000_000)
    clock.now()  # the second before is formatted and cached
    monkeypatch.setattr(time, "time_ns", lambda: nanoseconds)

    assert clock.now() == expected
    assert datetime.fromisoformat(expected).timestamp() == nanoseconds // 1000 / 1e6

"""ConfigStore: newest revision wins, lookups are indexed, grants expire."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dataplane.contract import GrantSpec, ResourceSpec, Snapshot, TokenKey
from dataplane.core.config import ConfigStore

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ORDERS = ResourceSpec(
    name="orders-db",
    protocol="postgres",
    host="127.0.0.1",
    port=5432,
    database="orders",
    upstream_user="gatehouse",
    upstream_password="s3cret",
)


def grant(grant_id: str, identity: str = "id-alice", minutes: int = 30) -> GrantSpec:
    return GrantSpec(
        id=grant_id,
        identity=identity,
        resource="orders-db",
        expires_at=NOW + timedelta(minutes=minutes),
    )


def snapshot(revision: int, *grants: GrantSpec, keys: tuple[TokenKey, ...] = ()) -> Snapshot:
    return Snapshot(
        revision=revision,
        agent_id="agent-1",
        agent_name="eu-west",
        token_keys=keys,
        resources=(ORDERS,),
        grants=grants,
    )


def test_before_the_first_snapshot_everything_fails_closed() -> None:
    store = ConfigStore()

    assert store.snapshot is None
    assert store.revision == 0
    assert store.resource("orders-db") is None
    assert store.grant_for("id-alice", "orders-db", now=NOW) is None
    assert store.token_verifier.key_ids == frozenset()


def test_a_newer_revision_replaces_the_old_one() -> None:
    store = ConfigStore()
    store.update(snapshot(1, grant("g1")))

    assert store.update(snapshot(2)) is True

    assert store.revision == 2
    assert store.grant_for("id-alice", "orders-db", now=NOW) is None


def test_an_older_revision_is_ignored() -> None:
    store = ConfigStore()
    store.update(snapshot(5, grant("g1")))

    assert store.update(snapshot(4)) is False

    assert store.revision == 5
    assert store.grant_for("id-alice", "orders-db", now=NOW) == grant("g1")


def test_the_same_revision_is_reapplied_harmlessly() -> None:
    store = ConfigStore()
    store.update(snapshot(3, grant("g1")))

    assert store.update(snapshot(3, grant("g1"))) is True

    assert store.grant_for("id-alice", "orders-db", now=NOW) == grant("g1")


def test_subscribers_hear_applied_updates_only() -> None:
    store = ConfigStore()
    heard: list[int] = []
    store.subscribe(lambda applied: heard.append(applied.revision))

    store.update(snapshot(2))
    store.update(snapshot(1))
    store.update(snapshot(2))

    assert heard == [2, 2]


def test_a_failing_subscriber_does_not_stop_the_others() -> None:
    store = ConfigStore()
    heard: list[int] = []

    def broken(_: Snapshot) -> None:
        raise RuntimeError("boom")

    store.subscribe(broken)
    store.subscribe(lambda applied: heard.append(applied.revision))

    assert store.update(snapshot(1)) is True
    assert heard == [1]


def test_unsubscribing_stops_the_callbacks() -> None:
    store = ConfigStore()
    heard: list[int] = []
    unsubscribe = store.subscribe(lambda applied: heard.append(applied.revision))

    unsubscribe()
    store.update(snapshot(1))

    assert heard == []


def test_wait_ready_returns_after_the_first_snapshot() -> None:
    async def scenario() -> None:
        store = ConfigStore()
        waiter = asyncio.ensure_future(store.wait_ready())
        await asyncio.sleep(0)
        assert not waiter.done()
        store.update(snapshot(1))
        await asyncio.wait_for(waiter, 1)

    asyncio.run(scenario())


def test_resources_are_found_by_name() -> None:
    store = ConfigStore()
    store.update(snapshot(1))

    assert store.resource("orders-db") == ORDERS
    assert store.resource("billing-db") is None


def test_the_grant_that_lasts_longest_is_chosen() -> None:
    store = ConfigStore()
    store.update(snapshot(1, grant("short", minutes=5), grant("long", minutes=60)))

    chosen = store.grant_for("id-alice", "orders-db", now=NOW)
    assert chosen is not None
    assert chosen.id == "long"


def test_all_grants_in_force_come_longest_first_without_expired_or_future_ones() -> None:
    store = ConfigStore()
    future = dataclasses.replace(grant("future", minutes=90), starts_at=NOW + timedelta(minutes=1))
    store.update(
        snapshot(
            1,
            grant("short", minutes=5),
            grant("long", minutes=60),
            future,
            grant("gone", minutes=0),
        )
    )

    in_force = store.grants_in_force("id-alice", "orders-db", now=NOW)
    assert [g.id for g in in_force] == ["long", "short"]


def test_an_expired_grant_is_not_returned() -> None:
    store = ConfigStore()
    store.update(snapshot(1, grant("g1", minutes=5)))

    assert store.grant_for("id-alice", "orders-db", now=NOW + timedelta(minutes=4)) is not None
    assert store.grant_for("id-alice", "orders-db", now=NOW + timedelta(minutes=5)) is None


def test_grants_belong_to_their_identity() -> None:
    store = ConfigStore()
    store.update(snapshot(1, grant("g1", identity="id-alice")))

    assert store.grant_for("id-bob", "orders-db", now=NOW) is None


def test_the_token_verifier_follows_the_snapshot_keys() -> None:
    pem = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    store = ConfigStore()
    store.update(snapshot(1, keys=(TokenKey(kid="k1", alg="EdDSA", public_key_pem=pem),)))

    assert store.token_verifier.key_ids == {"k1"}
    store.update(snapshot(2))
    assert store.token_verifier.key_ids == frozenset()

"""Events written before the log was tamper-evident are numbered in id order by migration
0004, with leaves and Merkle nodes exactly as the sequencer would have written them."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from controlplane.audit.log import root_build
from controlplane.audit.models import AuditEvent
from ledger import merkle
from ledger.leaf import parse_leaf

BEFORE = [("audit", "0002_on_behalf_of")]


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_existing_events_get_seq_leaf_and_nodes_in_id_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    numbering = importlib.import_module("controlplane.audit.migrations.0004_number_existing_events")
    monkeypatch.setattr(numbering, "BATCH", 2)  # several batches, the last one partial
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()  # every app, as before
    old_apps = migrate(BEFORE).loader.project_state(BEFORE).apps
    OldEvent = old_apps.get_model("audit", "AuditEvent")
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    for action in ("grant.created", "grant.revoked", "token.minted"):
        OldEvent.objects.create(
            source="controlplane", occurred_at=moment, received_at=moment, action=action,
            actor_sub="", actor_kind="system", actor_name="system", payload={"n": action},
        )  # fmt: skip

    migrate(latest)

    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.seq, e.action) for e in events] == [
        (0, "grant.created"),
        (1, "grant.revoked"),
        (2, "token.minted"),
    ]
    assert parse_leaf(events[0].leaf.encode())["time"] == "2026-03-01T09:30:00.000000Z"
    hashes = [merkle.leaf_hash(e.leaf.encode()) for e in events]
    assert root_build(size=3) == merkle.root(hashes)

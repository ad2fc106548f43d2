"""The session index follows the events agents send: one row per session, counts that add
up across batches, idempotent on re-sent events, and a rebuild that agrees with it."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from controlplane.agents.services import IssuedAgent
from controlplane.identities.models import User
from controlplane.sessions.models import SessionRecord
from controlplane.sessions.services import sessions_lost_end
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.sessions.conftest import T0, actor_of, session_events, wire_event

Ingest = Callable[[list[WireEvent]], int]


def _fields(record: SessionRecord) -> tuple[object, ...]:
    return (
        record.session_id, record.actor_name, record.on_behalf_of_name, record.resource,
        record.protocol, record.client_address, record.grant_id, record.started_at,
        record.ended_at, record.end_reason, record.statements, record.denials, record.held,
        record.masked_values, record.last_seq,
    )  # fmt: skip


def test_a_batch_becomes_one_record_per_session(ingest: Ingest, alice: User) -> None:
    ingest(session_events(1, "s-1", actor_of(alice), statements=3))
    record = SessionRecord.objects.get()
    assert record.session_id == "s-1"
    assert (record.actor_sub, record.actor_name, record.actor_kind) == (
        str(alice.pk),
        "alice",
        "user",
    )
    assert (record.resource, record.protocol) == ("appdb", "postgres")
    assert (record.client_address, record.grant_id) == ("10.0.0.7:5555", "g-1")
    assert record.started_at == T0.replace(second=1)
    assert record.ended_at == T0.replace(second=5)
    assert record.end_reason == "client disconnected"
    assert (record.statements, record.denials, record.held) == (3, 0, 0)
    assert record.masked_values == 6
    assert record.last_seq == 5


def test_a_session_spread_over_batches_adds_up_and_stays_open_until_its_end(
    ingest: Ingest, alice: User
) -> None:
    events = session_events(1, "s-1", actor_of(alice), statements=4)
    ingest(events[:3])
    open_record = SessionRecord.objects.get()
    assert open_record.ended_at is None and open_record.statements == 2
    ingest(events[3:])
    record = SessionRecord.objects.get()
    assert record.statements == 4 and record.masked_values == 8
    assert record.end_reason == "client disconnected" and record.last_seq == 6


def test_re_sent_events_are_not_counted_twice(ingest: Ingest, alice: User) -> None:
    events = session_events(1, "s-1", actor_of(alice), statements=3)
    ingest(events[:3])
    ingest(events)  # the link re-sends what it had not seen acknowledged
    ingest(events)
    record = SessionRecord.objects.get()
    assert (record.statements, record.masked_values) == (3, 6)


def test_denials_holds_refusals_and_ai_agents_acting_for_someone(
    ingest: Ingest, alice: User, agent_smith: User
) -> None:
    smith = actor_of(agent_smith, on_behalf_of=alice)
    events = session_events(1, "s-ai", smith, statements=1, end=False)
    events += [
        wire_event(3, "guardrail.denied", session="s-ai", actor=smith, payload={"rule": "r"}),
        wire_event(4, "guardrail.held", session="s-ai", actor=smith, payload={"rule": "h"}),
        wire_event(
            5,
            "connection.refused",
            session="s-refused",
            actor=actor_of(alice),
            payload={"reason": "no_grant", "client_address": "10.0.0.9:1"},
        ),
    ]
    ingest(events)
    ai = SessionRecord.objects.get(session_id="s-ai")
    assert (ai.actor_name, ai.actor_kind, ai.on_behalf_of_name) == (
        "agent-smith",
        "service_account",
        "alice",
    )
    assert ai.on_behalf_of_sub == str(alice.pk)
    assert (ai.denials, ai.held, ai.ended_at) == (1, 1, None)
    refused = SessionRecord.objects.get(session_id="s-refused")
    assert refused.denials == 1 and refused.end_reason == "refused: no_grant"
    assert refused.ended_at is not None and refused.client_address == "10.0.0.9:1"


def test_the_masking_summary_counts_values_statements_did_not_report(
    ingest: Ingest, alice: User
) -> None:
    actor = actor_of(alice)
    events = session_events(1, "s-1", actor, statements=1, end=False)
    events.append(
        wire_event(
            3, "masking.applied", session="s-1", actor=actor, payload={"entities": {"PERSON": 9}}
        )
    )
    ingest(events)
    assert SessionRecord.objects.get().masked_values == 9


def test_events_outside_a_session_make_no_record(ingest: Ingest, alice: User) -> None:
    ingest([wire_event(1, "credential.dropped", session="", actor=actor_of(alice))])
    assert not SessionRecord.objects.exists()


def test_one_batch_costs_a_bounded_number_of_index_queries(ingest: Ingest, alice: User) -> None:
    events = [
        *session_events(1, "s-1", actor_of(alice), statements=200, end=False),
        *session_events(300, "s-2", actor_of(alice), statements=200, end=False),
    ]
    ingest(events[:10])  # s-1 exists before the big batch, s-2 does not
    with CaptureQueriesContext(connection) as queries:
        ingest(events[10:])
    index_queries = [q for q in queries.captured_queries if "sessionrecord" in q["sql"]]
    assert len(index_queries) == 3  # select, insert the new, update the known


def test_sessions_reindex_rebuilds_the_same_index_from_the_log(
    ingest: Ingest, alice: User, agent_smith: User
) -> None:
    ingest(session_events(1, "s-1", actor_of(alice), statements=3))
    ingest(session_events(10, "s-2", actor_of(agent_smith, on_behalf_of=alice), end=False))
    before = sorted(_fields(r) for r in SessionRecord.objects.all())
    SessionRecord.objects.all().delete()
    out = StringIO()
    call_command("sessions_reindex", stdout=out)
    assert "2 session(s)" in out.getvalue()
    assert sorted(_fields(r) for r in SessionRecord.objects.all()) == before


def test_a_fresh_agent_process_ends_the_sessions_its_predecessor_left_open(
    ingest: Ingest, alice: User, edge: IssuedAgent
) -> None:
    events = session_events(1, "s-1", actor_of(alice), statements=1)
    ingest(events[:2])
    assert sessions_lost_end(agent=edge.agent) == 1
    lost = SessionRecord.objects.get()
    assert lost.ended_at is not None and lost.end_reason.startswith("lost:")
    ingest(events[2:])  # the old process's spool still had the real end
    assert SessionRecord.objects.get().end_reason == "client disconnected"


@pytest.mark.django_db(transaction=True)
def test_the_migration_indexes_a_log_written_before_the_index(ingest: Ingest, alice: User) -> None:
    ingest(session_events(1, "s-old", actor_of(alice), statements=2))
    SessionRecord.objects.all().delete()
    call_command("migrate", "gatehouse_sessions", "0001_session_index", verbosity=0)
    call_command("migrate", "gatehouse_sessions", verbosity=0)
    record = SessionRecord.objects.get()
    assert (record.session_id, record.statements, record.end_reason) == (
        "s-old",
        2,
        "client disconnected",
    )

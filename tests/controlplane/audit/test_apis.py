"""REST: auditors and administrators read the audit log, newest first, filtered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rest_framework.test import APIClient

from controlplane.access.models import Grant
from controlplane.agents.services import IssuedAgent
from controlplane.audit.services import audit_events_ingest
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent

ClientAs = Callable[[User | None], APIClient]


def _ingest(
    edge: IssuedAgent, seqs: range, *, session: str = "s-1", name: str = "agent-smith"
) -> None:
    events = [
        WireEvent(
            seq=seq,
            time=datetime(2026, 1, 1, 12, 0, seq, tzinfo=UTC).isoformat(),
            action="statement",
            actor=Actor(sub="sub-" + name, kind="service_account", name=name),
            resource="appdb",
            protocol="postgres",
            session=session,
            payload={"statement": f"SELECT {seq}"},
        )
        for seq in seqs
    ]
    audit_events_ingest(agent=edge.agent, events=events)


def test_an_auditor_reads_events_newest_first(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    _ingest(edge, range(1, 4))
    body = client_as(carol).get("/api/v1/audit/events?agent=edge-1").json()
    assert [e["agent_seq"] for e in body["results"]] == [3, 2, 1]
    event = body["results"][0]
    assert (event["actor_name"], event["actor_kind"], event["resource"], event["session"]) == (
        "agent-smith",
        "service_account",
        "appdb",
        "s-1",
    )
    assert event["payload"] == {"statement": "SELECT 3"}
    assert event["agent"] == "edge-1" and event["source"] == "agent"


def test_events_filter_by_actor_name_or_sub_session_action_resource_and_time(
    client_as: ClientAs, carol: User, edge: IssuedAgent
) -> None:
    _ingest(edge, range(1, 3), session="s-1")
    _ingest(edge, range(3, 5), session="s-2", name="other-bot")
    api = client_as(carol)

    def seqs(query: str) -> list[int]:
        return [
            e["agent_seq"]
            for e in api.get(f"/api/v1/audit/events?agent=edge-1&{query}").json()["results"]
        ]

    assert seqs("actor=other-bot") == [4, 3]
    assert seqs("actor=sub-agent-smith") == [2, 1]
    assert seqs("session=s-1") == [2, 1]
    assert seqs("action=statement&resource=appdb") == [4, 3, 2, 1]
    assert seqs("since=2026-01-01T12:00:02Z") == [4, 3, 2]
    assert seqs("until=2026-01-01T12:00:02Z") == [1]


def test_control_plane_actions_are_in_the_log_too(
    client_as: ClientAs, bob: User, smith_on_appdb: Grant
) -> None:
    body = client_as(bob).get("/api/v1/audit/events?action=grant.created").json()
    [event] = body["results"]
    assert (event["actor_name"], event["resource"], event["source"]) == (
        "bob",
        "appdb",
        "controlplane",
    )
    assert event["payload"]["reason"] == "nightly report"


def test_pages_follow_a_cursor(client_as: ClientAs, carol: User, edge: IssuedAgent) -> None:
    _ingest(edge, range(1, 6))
    api = client_as(carol)
    first = api.get("/api/v1/audit/events?agent=edge-1&page_size=2").json()
    second = api.get(first["next"]).json()
    assert [e["agent_seq"] for e in first["results"] + second["results"]] == [5, 4, 3, 2]


def test_a_bad_filter_is_a_bad_request(client_as: ClientAs, carol: User) -> None:
    assert client_as(carol).get("/api/v1/audit/events?since=yesterday").status_code == 400


def test_plain_users_and_service_accounts_may_not_read_the_log(
    client_as: ClientAs, alice: User, agent_smith: User
) -> None:
    assert client_as(alice).get("/api/v1/audit/events").status_code == 403
    assert client_as(agent_smith).get("/api/v1/audit/events").status_code == 403
    assert client_as(None).get("/api/v1/audit/events").status_code == 401


def test_the_log_is_read_only_over_the_api(client_as: ClientAs, bob: User) -> None:
    assert client_as(bob).post("/api/v1/audit/events", {}, format="json").status_code == 405

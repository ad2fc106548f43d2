"""The replay page (/sessions/<id>/): who may open it, what its timeline shows of a database
session (statements with timing, result shape and masked sample rows, verdicts, errors), an
HTTP and model-call session, the terminal recording as asciicast v2, and the proofs the
browser checks each event with (the checkpoint's signature verified here, tampering caught).

agent-smith (an AI service account) runs the sessions through edge-1 for alice."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.test import Client, override_settings

from controlplane.agents.services import IssuedAgent
from controlplane.audit import triggers
from controlplane.audit.checkpoints import checkpoint_sign
from controlplane.audit.config import LogConfig
from controlplane.audit.models import AuditEvent, Checkpoint
from controlplane.audit.services import audit_events_ingest
from controlplane.identities.models import User
from dataplane.contract import Actor
from dataplane.contract import AuditEvent as WireEvent
from ledger import merkle
from ledger.checkpoint import Checkpoint as CheckpointBody
from ledger.checkpoint import sign_checkpoint
from ledger.note import Signer

LOG_KEY = Ed25519PrivateKey.generate()
START = datetime(2026, 11, 30, 9, 0, 0, tzinfo=UTC)
DB_SESSION = "s-db-1"
HTTP_SESSION = "s-llm-1"
TERMINAL_SESSION = "s-ssh-1"


@pytest.fixture(autouse=True)
def _log_key() -> Iterator[None]:
    with override_settings(GATEHOUSE_LOG=LogConfig(signing_key=LOG_KEY)):
        yield


class Recorder:
    """Sends events as edge-1 would (its own seq 1, 2, 3, ...)."""

    def __init__(self, edge: IssuedAgent, smith: User, alice: User) -> None:
        self.edge = edge
        self.seq = 0
        person = Actor(sub=str(alice.pk), kind="user", name="alice")
        self.actor = Actor(
            sub=str(smith.pk), kind="service_account", name="agent-smith", on_behalf_of=person
        )

    def send(self, session: str, *events: tuple[float, str, dict[str, Any]], protocol: str) -> None:
        batch = []
        for seconds, action, payload in events:
            self.seq += 1
            batch.append(
                WireEvent(
                    seq=self.seq,
                    time=(START + timedelta(seconds=seconds)).isoformat(),
                    action=action,
                    actor=self.actor,
                    resource="appdb" if protocol == "postgres" else "openai",
                    protocol=protocol,
                    session=session,
                    payload=payload,
                )
            )
        audit_events_ingest(agent=self.edge.agent, events=batch)


STATEMENT = {
    "statement": "select id, email from customers where id < 4",
    "kind": "simple",
    "parameter_count": 0,
    "command_tags": ["SELECT 3"],
    "rows": 3,
    "duration_ms": 12.5,
    "error": None,
    "masked": {"EMAIL_ADDRESS": 3},
    "columns": [
        {"name": "id", "type": "int4", "oid": 23},
        {"name": "email", "type": "text", "oid": 25},
    ],
    "sample_rows": [["1", "[EMAIL_ADDRESS]"], ["2", "[EMAIL_ADDRESS]"], ["3", None]],
}


@pytest.fixture
def recorder(edge: IssuedAgent, agent_smith: User, alice: User) -> Recorder:
    return Recorder(edge, agent_smith, alice)


@pytest.fixture
def db_session(recorder: Recorder) -> str:
    """A masked database session: a read with sample rows, a refused DROP, a failed
    insert, the masking summary."""
    recorder.send(
        DB_SESSION,
        (0, "session.start", {"client_address": "10.0.0.7:5000", "tls": True}),
        (1.25, "statement", STATEMENT),
        (
            2.5,
            "guardrail.denied",
            {"statement": "drop table customers", "rule": "no-drop", "reason": "DROP is denied"},
        ),
        (
            3,
            "statement",
            {
                **STATEMENT,
                "statement": "insert into customers (id) values (1)",
                "command_tags": [],
                "rows": None,
                "columns": [],
                "sample_rows": [],
                "masked": {},
                "error": {"code": "23505", "message": "duplicate key value"},
            },
        ),
        (4, "masking.applied", {"profile": "ai-agents", "entities": {"EMAIL_ADDRESS": 3}}),
        (4, "session.end", {"reason": "client disconnected", "duration_ms": 4000.0}),
        protocol="postgres",
    )
    return DB_SESSION


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page_of(user: User, session: str) -> str:
    response = signed_in(user).get(f"/sessions/{session}/")
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# -- access ------------------------------------------------------------------------------------
def test_admins_auditors_the_actor_and_the_person_it_acted_for_may_replay(
    db_session: str, bob: User, carol: User, alice: User, agent_smith: User
) -> None:
    for viewer in (bob, carol, alice, agent_smith):
        assert "Replay of session" in page_of(viewer, db_session)
    for path in ("", "cast", "proofs"):
        response = signed_in(carol).get(f"/sessions/{db_session}/{path}")
        assert "no-store" in response["Cache-Control"], path


def test_anyone_else_gets_404_as_for_a_session_that_does_not_exist(
    db_session: str, bob: User
) -> None:
    dave = User.objects.create_user(username="dave")
    for path in ("", "cast", "proofs"):
        assert signed_in(dave).get(f"/sessions/{db_session}/{path}").status_code == 404
    assert signed_in(bob).get("/sessions/no-such-session/").status_code == 404


def test_a_signed_out_visitor_is_sent_to_sign_in(db_session: str) -> None:
    response = Client().get(f"/sessions/{db_session}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


# -- the database timeline -----------------------------------------------------------------
def test_the_timeline_lists_every_step_with_its_offset_result_and_masked_sample(
    db_session: str, carol: User
) -> None:
    html = page_of(carol, db_session)
    seqs = list(AuditEvent.objects.filter(session=db_session).order_by("seq"))
    positions = [html.index(f'data-seq="{event.seq}"') for event in seqs]
    assert positions == sorted(positions), "steps are in log order"
    assert "+1.250 s" in html and "12.5 ms" in html and "SELECT 3" in html
    assert "3 rows" in html
    assert 'email <span class="muted mono">text</span>' in html
    assert html.count("[EMAIL_ADDRESS]</td>") == 2 and "NULL" in html
    assert "EMAIL_ADDRESS × 3" in html
    assert "sample rows are recorded only for masked sessions" in html.lower()


def test_verdicts_and_errors_show_rule_reason_and_sqlstate(db_session: str, carol: User) -> None:
    html = page_of(carol, db_session)
    assert "guardrail.denied: no-drop" in html and "DROP is denied" in html
    assert "23505" in html and "duplicate key value" in html
    assert "client disconnected" in html
    assert "dict_values" not in html and "dict_items" not in html  # payload keys, not methods


def test_without_javascript_all_steps_are_listed_and_controls_are_labelled(
    db_session: str, carol: User
) -> None:
    html = page_of(carol, db_session)
    assert html.count('class="step step-') == 6
    assert " hidden" not in html.split('id="timeline"')[1]  # nothing hidden before JS runs
    for label in ("Step back", "Play", "Pause", "Step forward", "Show all"):
        assert f">{label}" in html or f"{label}<" in html
    assert '<label for="replay-speed">Speed</label>' in html
    assert 'id="replay-position" class="replay-position" role="status" aria-live="polite"' in html
    assert "terminal-player" not in html  # no recording, no player


def test_an_http_and_model_call_session_shows_requests_models_tokens_and_tool_calls(
    recorder: Recorder, carol: User
) -> None:
    recorder.send(
        HTTP_SESSION,
        (
            0.5,
            "llm.call",
            {
                "method": "POST",
                "path": "/v1/chat/completions",
                "status": 200,
                "duration_ms": 812.0,
                "api": "openai.chat",
                "model": "gpt-test",
                "stream": False,
                "prompt": "user: who is <PERSON>?",
                "completion": "Someone.",
                "tool_calls": [{"name": "lookup", "arguments": '{"q": "<PERSON>"}'}],
                "input_tokens": 21,
                "output_tokens": 3,
                "prompt_masked": {"PERSON": 1},
            },
        ),
        (
            1,
            "http.request",
            {"method": "GET", "path": "/v1/models", "status": 403, "duration_ms": 1.5},
        ),
        protocol="llm",
    )
    html = page_of(carol, HTTP_SESSION)
    assert "gpt-test" in html and "21 in, 3 out" in html and "PERSON × 1" in html
    assert "user: who is &lt;PERSON&gt;?" in html and "lookup" in html
    assert "GET /v1/models → 403" in html and "812.0 ms" in html


# -- the terminal recording ----------------------------------------------------------------
def test_terminal_events_make_an_asciicast_v2_and_the_page_shows_the_player(
    recorder: Recorder, carol: User
) -> None:
    # No producer records terminals yet (SSH and Kubernetes exec will); the test appends
    # the events through the sequencer as an agent batch would.
    recorder.send(
        TERMINAL_SESSION,
        (0, "session.start", {}),
        (0, "terminal.resize", {"v": 1, "t": 0, "cols": 100, "rows": 30}),
        (0.5, "terminal.output", {"v": 1, "t": 0.5, "data": "$ whoami\r\n"}),
        (0.7, "terminal.output", {"t": 0.7, "data": "alice\r\n"}),
        (0.8, "terminal.output", {"t": "soon", "data": "malformed: left out"}),
        (1.0, "terminal.resize", {"v": 1, "t": 1.0, "cols": 120, "rows": 40}),
        protocol="ssh",
    )
    response = signed_in(carol).get(f"/sessions/{TERMINAL_SESSION}/cast")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-asciicast"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    header, *frames = lines
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    assert header["timestamp"] == int(START.timestamp())
    assert frames == [
        [0.0, "r", "100x30"],
        [0.5, "o", "$ whoami\r\n"],
        [0.7, "o", "alice\r\n"],
        [1.0, "r", "120x40"],
    ]
    html = page_of(carol, TERMINAL_SESSION)
    assert 'id="terminal-player" data-cast-url="/sessions/s-ssh-1/cast"' in html
    assert "asciinema-player.min.js" in html
    assert html.count('class="step step-') == 1  # output is the player's, not steps


def test_a_session_without_a_recording_has_an_empty_cast(db_session: str, carol: User) -> None:
    response = signed_in(carol).get(f"/sessions/{db_session}/cast")
    (header,) = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert (header["width"], header["height"]) == (80, 24)


# -- proofs ------------------------------------------------------------------------------------
def proofs(user: User, session: str) -> dict[str, Any]:
    response = signed_in(user).get(f"/sessions/{session}/proofs")
    assert response.status_code == 200
    return dict(response.json())


def browser_check(entry: dict[str, Any], checkpoint: dict[str, Any]) -> bool:
    """What replay.js computes, in Python: the proof folds the leaf to the root."""
    if not entry["matches_event"] or entry["proof"] is None:
        return False
    try:
        merkle.verify_inclusion(
            merkle.leaf_hash(entry["leaf"].encode()),
            entry["seq"],
            checkpoint["size"],
            [base64.b64decode(node) for node in entry["proof"]],
            base64.b64decode(checkpoint["root_hash"]),
        )
    except merkle.ProofError:
        return False
    return True


def test_before_any_checkpoint_every_event_is_pending(db_session: str, carol: User) -> None:
    Checkpoint.objects.all()  # none signed in this test yet
    answer = proofs(carol, db_session)
    assert answer["checkpoint"] is None
    assert [entry["proof"] for entry in answer["entries"]] == [None] * 6
    assert all(entry["matches_event"] for entry in answer["entries"])


def test_after_a_checkpoint_each_proof_leads_to_its_signed_root(
    db_session: str, recorder: Recorder, carol: User
) -> None:
    assert checkpoint_sign() is not None
    recorder.send(DB_SESSION, (5, "cancel.request", {}), protocol="postgres")
    answer = proofs(carol, db_session)
    checkpoint = answer["checkpoint"]
    assert checkpoint["signature_valid"] is True and checkpoint["problem"] == ""
    *covered, newer = answer["entries"]
    assert all(browser_check(entry, checkpoint) for entry in covered)
    assert newer["seq"] >= checkpoint["size"] and newer["proof"] is None  # pending


def test_a_value_changed_in_the_table_is_not_verified(db_session: str, carol: User) -> None:
    assert checkpoint_sign() is not None
    victim = AuditEvent.objects.get(session=db_session, action="guardrail.denied")
    forged = {**victim.payload, "reason": "nothing to see"}
    tamper(
        "UPDATE audit_auditevent SET payload = %s WHERE seq = %s", [json.dumps(forged), victim.seq]
    )
    answer = proofs(carol, db_session)
    entry = next(e for e in answer["entries"] if e["seq"] == victim.seq)
    assert entry["matches_event"] is False and "differ from its signed leaf" in entry["problem"]
    assert not browser_check(entry, answer["checkpoint"])
    others = [e for e in answer["entries"] if e["seq"] != victim.seq]
    assert all(browser_check(e, answer["checkpoint"]) for e in others)


def test_a_leaf_changed_with_its_columns_fails_the_inclusion_check(
    db_session: str, carol: User
) -> None:
    assert checkpoint_sign() is not None
    victim = AuditEvent.objects.get(session=db_session, action="guardrail.denied")
    forged_payload = {**victim.payload, "reason": "nothing to see"}
    forged_leaf = victim.leaf.replace("DROP is denied", "nothing to see")
    tamper(
        "UPDATE audit_auditevent SET payload = %s, leaf = %s WHERE seq = %s",
        [json.dumps(forged_payload), forged_leaf, victim.seq],
    )
    answer = proofs(carol, db_session)
    entry = next(e for e in answer["entries"] if e["seq"] == victim.seq)
    assert entry["matches_event"] is True  # consistent with itself ...
    assert not browser_check(entry, answer["checkpoint"])  # ... but not what was signed


def test_a_forged_checkpoint_signature_is_reported_by_the_server(
    db_session: str, carol: User
) -> None:
    checkpoint = checkpoint_sign()
    assert checkpoint is not None
    intruder = Signer("gatehouse", Ed25519PrivateKey.generate())
    body = CheckpointBody.parse(checkpoint.note.split("\n\n")[0] + "\n")
    tamper(
        "UPDATE audit_checkpoint SET note = %s WHERE id = %s",
        [sign_checkpoint(body, [intruder]), checkpoint.pk],
    )
    answer = proofs(carol, db_session)
    assert answer["checkpoint"]["signature_valid"] is False
    assert "does not verify" in answer["checkpoint"]["problem"]


def tamper(sql: str, params: list[object]) -> None:
    """Rewrite audit rows as someone with the database in hand would (triggers off)."""
    with connection.cursor() as cursor:
        for statement in triggers.drop_sql(connection.vendor):
            cursor.execute(statement)
        cursor.execute(sql, params)
        for statement in triggers.create_sql(connection.vendor):
            cursor.execute(statement)

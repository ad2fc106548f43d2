"""The audit leaf format v1: exact bytes, round trips, and refusal of anything a verifier
could read differently from what was hashed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from ledger.leaf import LEAF_FORMAT, LeafError, format_time, leaf_bytes, leaf_document, parse_leaf

ALICE = {"sub": "5b1f0d52-0000-4000-8000-00000000a11c", "kind": "user", "name": "alice"}
REPORT_BOT = {
    "sub": "5b1f0d52-0000-4000-8000-0000000000a1",
    "kind": "service_account",
    "name": "report-bot",
}


def _statement(**changes: Any) -> dict[str, Any]:
    """The AI service account, acting for alice, ran a statement through agent pg-eu-1."""
    fields: dict[str, Any] = {
        "seq": 41,
        "time": datetime(2026, 11, 30, 15, 4, 5, 6, tzinfo=UTC),
        "source": "agent",
        "agent": "pg-eu-1",
        "agent_seq": 7,
        "actor": {**REPORT_BOT, "on_behalf_of": ALICE},  # an Actor.to_dict() is accepted
        "on_behalf_of": ALICE,
        "resource": "orders-db",
        "protocol": "postgres",
        "session": "s-1",
        "action": "statement",
        "payload": {"sql": "SELECT total FROM orders WHERE id = $1", "rows": 1, "ms": 0.25},
    }
    return leaf_document(**{**fields, **changes})


def test_a_statement_by_an_ai_agent_for_alice_has_these_exact_bytes() -> None:
    assert leaf_bytes(_statement()) == (
        b'{"action":"statement",'
        b'"actor":{"kind":"service_account","name":"report-bot",'
        b'"sub":"5b1f0d52-0000-4000-8000-0000000000a1"},'
        b'"agent":"pg-eu-1","agent_seq":7,'
        b'"on_behalf_of":{"kind":"user","name":"alice","sub":"5b1f0d52-0000-4000-8000-00000000a11c"},'
        b'"payload":{"ms":0.25,"rows":1,"sql":"SELECT total FROM orders WHERE id = $1"},'
        b'"protocol":"postgres","resource":"orders-db","seq":41,"session":"s-1",'
        b'"source":"agent","time":"2026-11-30T15:04:05.000006Z","v":1}'
    )


def test_leaf_bytes_parse_back_to_the_same_document() -> None:
    document = _statement()
    assert document["v"] == LEAF_FORMAT == 1
    assert parse_leaf(leaf_bytes(document)) == document
    assert parse_leaf(leaf_bytes(document).decode()) == document  # stored as text too


def test_a_control_plane_event_needs_no_agent() -> None:
    document = _statement(
        source="controlplane", agent=None, agent_seq=None, actor=ALICE, on_behalf_of=None,
        protocol="", session="", action="access_request.created", payload={"level": "read"},
    )  # fmt: skip
    assert parse_leaf(leaf_bytes(document))["agent"] is None


def test_times_are_utc_with_microseconds_and_z() -> None:
    paris = timezone(timedelta(hours=1))
    assert (
        format_time(datetime(2026, 11, 30, 16, 4, 5, tzinfo=paris)) == "2026-11-30T15:04:05.000000Z"
    )
    with pytest.raises(LeafError, match="timezone-aware"):
        format_time(datetime(2026, 11, 30, 16, 4, 5))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"seq": -1}, "seq"),
        ({"seq": True}, "seq"),
        ({"time": "2026-11-30T15:04:05Z"}, "time"),
        ({"time": "2026-11-30 15:04:05.000006+00:00"}, "time"),
        ({"time": "2026-13-30T15:04:05.000006Z"}, "time"),
        ({"time": "2026-11-30T24:04:05.000006Z"}, "time"),
        ({"source": "dataplane"}, "source"),
        ({"agent_seq": None}, "agent event needs"),
        ({"source": "controlplane", "agent": None}, "agent_seq needs an agent"),
        ({"agent": ""}, "agent must"),
        ({"actor": {"sub": "x", "name": "y"}}, "actor lacks kind"),
        ({"actor": {"sub": 1, "kind": "user", "name": "y"}}, "actor fields"),
        ({"on_behalf_of": {"sub": "x", "kind": "", "name": "y"}}, "on_behalf_of.kind"),
        ({"action": ""}, "action"),
        ({"resource": None}, "resource"),
    ],
)
def test_malformed_documents_are_refused(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(LeafError, match=problem):
        _statement(**changes)


def _canonical_text() -> str:
    return leaf_bytes(_statement()).decode()


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda text: text.replace('"seq":41,', '"seq": 41,'), "canonical"),
        (
            lambda text: text.replace(
                '{"action":"statement",', '{"action":"statement","action":"x",'
            ),
            "canonical",
        ),
        (lambda text: text.replace('"ms":0.25', '"ms":0.250'), "canonical"),
        (lambda text: text.replace('"rows":1', '"rows":1.0'), "canonical"),
        (lambda text: text.replace("alice", "\\u0061lice"), "canonical"),
        (lambda text: text.replace('"v":1}', '"v":2}'), "unknown leaf format 2"),
        (lambda text: text.replace(',"v":1}', "}"), "unknown leaf format None"),
        (lambda text: text.replace('"v":1}', '"v":1,"w":0}'), "extra \\['w'\\]"),
        (lambda text: "[" + text + "]", "not a JSON object"),
        (lambda text: text.replace('"rows":1', '"rows":NaN'), "not JSON"),
    ],
)
def test_tampered_or_unknown_leaf_bytes_are_refused(tamper: Any, problem: str) -> None:
    with pytest.raises(LeafError, match=problem):
        parse_leaf(tamper(_canonical_text()).encode())


def test_bytes_that_are_not_utf8_are_refused() -> None:
    with pytest.raises(LeafError, match="not UTF-8"):
        parse_leaf(b'{"v":1,"x":"\xff"}')


def test_payload_values_outside_json_are_refused_at_build_time() -> None:
    document = _statement(payload={"when": datetime(2026, 1, 1, tzinfo=UTC)})
    with pytest.raises(LeafError, match="not canonicalisable"):
        leaf_bytes(document)

"""The events agents send about masking are accepted, stored, exported and counted:
``masking.applied`` at session end, ``masking.failed`` when a value could not be masked."""

from __future__ import annotations

from typing import Any

from controlplane.agents import inbound
from controlplane.agents.services import IssuedAgent
from controlplane.audit.export.evidence import masking_counts
from controlplane.audit.export.ocsf import ocsf_event
from controlplane.audit.models import AuditEvent
from controlplane.audit.services import audit_events_ingest
from controlplane.masking.actions import MaskingAction
from dataplane.contract import Action, Actor
from dataplane.contract import AuditEvent as WireEvent
from tests.controlplane.audit.export.entries import entry

APPLIED = {"profile": "ai-agents-masked", "entities": {"EMAIL_ADDRESS": 3}, "values_failed": 1}
FAILED = {
    "profile": "ai-agents-masked",
    "reason": "statement budget exhausted",
    "statement": "SELECT * FROM customers",
    "values": 1,
    "action": "redacted",
}


def wire(seq: int, action: str, payload: dict[str, Any]) -> dict[str, Any]:
    return WireEvent(
        seq=seq,
        time="2026-11-30T12:00:00.000001+00:00",
        action=action,
        actor=Actor(sub="0b7c", kind="service_account", name="agent-smith"),
        resource="appdb",
        protocol="postgres",
        session="s-1",
        payload=payload,
    ).to_dict()


def test_an_events_frame_with_masking_events_is_accepted_and_stored(edge: IssuedAgent) -> None:
    frame = {
        "events": [wire(1, Action.MASKING_FAILED, FAILED), wire(2, "masking.applied", APPLIED)]
    }
    events = inbound.events_from(frame)
    assert audit_events_ingest(agent=edge.agent, events=events) == 2
    stored = AuditEvent.objects.filter(agent=edge.agent).order_by("agent_seq")
    assert [(e.action, e.payload) for e in stored] == [
        ("masking.failed", FAILED),
        ("masking.applied", APPLIED),
    ]
    assert masking_counts(AuditEvent.objects.all()) == {"EMAIL_ADDRESS": 3}


def test_a_masking_failure_is_a_data_security_finding_saying_what_happened() -> None:
    redacted = ocsf_event(entry("masking.failed", agent="edge-1", resource="appdb", payload=FAILED))
    ended = ocsf_event(
        entry(
            "masking.failed",
            agent="edge-1",
            resource="appdb",
            payload={**FAILED, "action": "statement_ended"},
        )
    )
    assert (redacted["class_uid"], redacted["severity_id"]) == (2006, 3)
    assert redacted["finding_info"]["title"] == "Masking failed: value redacted"
    assert ended["finding_info"]["title"] == "Masking failed: statement ended"
    assert redacted["unmapped"]["payload"] == FAILED


def test_masking_policy_changes_are_entity_management_in_ocsf() -> None:
    for action in MaskingAction:
        event = ocsf_event(entry(str(action), payload={"name": "p"}))
        assert event["class_uid"] == 3004, action
        assert event["entity"]["uid"] == "p"

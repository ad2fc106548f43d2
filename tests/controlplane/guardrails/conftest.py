"""Fixtures for guardrail tests: a quick way to write a policy, a hold as an agent sends
it, and the request/approval personas (erin in "dba" approves appdb; bob is an
administrator; alice requests; carol audits)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from controlplane.agents.inbound import HoldRequest, hold_from
from controlplane.guardrails.models import GuardrailPolicy
from controlplane.guardrails.services import GuardrailPolicySpec, guardrail_policy_create
from controlplane.identities.models import User
from tests.controlplane.access.conftest import (  # noqa: F401
    appdb_policy,
    developer_alice,
    erin,
    frank,
)

NO_DROP = {
    "format_version": 1,
    "rules": [{"kind": "deny_statements", "name": "no-drop", "classes": ["drop", "truncate"]}],
}
HOLD_WRITES = {
    "format_version": 1,
    "rules": [
        {"kind": "deny_statements", "name": "no-drop", "classes": ["drop"]},
        {"kind": "where_required", "name": "where-required"},
        {"kind": "read_only", "name": "hold-writes", "verdict": "hold"},
    ],
}


def policy(name: str, actor: User | None = None, **fields: Any) -> GuardrailPolicy:
    """Create the guardrail policy ``name`` (NO_DROP unless ``policy=`` says otherwise)."""
    fields.setdefault("policy", NO_DROP)
    return guardrail_policy_create(actor=actor, name=name, spec=GuardrailPolicySpec(**fields))


def hold_body(who: User, **changes: Any) -> dict[str, Any]:
    """A ``hold`` frame's body as the agent sends it for ``who``'s statement."""
    now = timezone.now()
    hold = {
        "id": str(uuid.uuid4()),
        "session": "s-1",
        "grant": "",
        "identity": str(who.pk),
        "identity_name": who.get_username(),
        "resource": "appdb",
        "statement": "UPDATE orders SET status = 'void' WHERE id = 42",
        "rule": "hold-writes",
        "reason": 'guardrail "hold-writes" holds for approval UPDATE orders',
        "requested_at": now.isoformat(),
        "expires_at": (now + timedelta(minutes=5)).isoformat(),
        **changes,
    }
    return {"hold": hold}


def hold_request(who: User, **changes: Any) -> HoldRequest:
    return hold_from(hold_body(who, **changes))


def iso(moment: datetime) -> str:
    return moment.isoformat()

"""Writes on sessions: asking the agent that serves a live session to end it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from controlplane.agents.models import Agent
from controlplane.agents.revision import agent_group
from controlplane.audit.services import audit_event_record
from controlplane.identities.models import User
from controlplane.identities.permissions import is_admin, is_auditor
from controlplane.policies.models import Policy
from controlplane.policies.selectors import may_approve, policy_for
from controlplane.resources.models import Resource
from controlplane.sessions.actions import SessionAction
from controlplane.sessions.models import SessionRecord

# The channel-layer message type (AgentConsumer.session_terminate) and the envelope's.
SESSION_TERMINATE = "session.terminate"
REASON_LIMIT = 200


def session_terminate(*, actor: User, record: SessionRecord, reason: str = "") -> SessionRecord:
    """Ask the agent serving ``record`` to end it now. Administrators may, and approvers of
    the session's resource (administrators only where it has no access policy); auditors
    never: they read. Writes ``session.terminate_requested`` and, after commit, sends the
    agent a ``session_terminate`` envelope; the session's end arrives as the agent's own
    ``session.end`` event ("terminated by <name>"). Raises PermissionDenied or, for a
    session already over or an agent offline, ValidationError."""
    session_terminate_check(actor=actor, record=record)
    reason = " ".join(reason.split())[:REASON_LIMIT]
    with transaction.atomic():
        record = SessionRecord.objects.select_related("agent").get(pk=record.pk)
        if record.ended_at is not None:
            raise ValidationError(f"the session already ended ({record.end_reason})")
        if not record.agent.connected:  # nobody to tell: refuse rather than pretend
            raise ValidationError(f"agent {record.agent.name} is offline; try again later")
        audit_event_record(
            actor=actor,
            action=SessionAction.TERMINATE_REQUESTED,
            resource=record.resource,
            payload=_payload(record, reason),
        )
        body = {"session": record.session_id, "reason": reason, "by": actor.get_username()}
        transaction.on_commit(partial(_send, agent_group(record.agent_id), body), robust=True)
    return record


def session_terminate_check(*, actor: Any, record: SessionRecord) -> None:
    """Raise PermissionDenied unless ``actor`` may terminate ``record`` (fails closed)."""
    if not may_terminate(actor=actor, record=record):
        raise PermissionDenied(
            f"terminating sessions on {record.resource or 'this resource'} needs an "
            "administrator or its approver role"
        )


def may_terminate(*, actor: Any, record: SessionRecord) -> bool:
    """Whether ``actor`` may end ``record``: see ``session_terminate``."""
    if not (actor and actor.is_authenticated and actor.is_active) or actor.is_service_account:
        return False
    if is_admin(actor):
        return True
    if is_auditor(actor):  # a read-only role, whatever else the person holds
        return False
    resource = Resource.objects.filter(name=record.resource).first()
    policy = policy_for(resource=resource) if resource is not None else None
    return policy is not None and may_approve(identity=actor, policy=policy)


@dataclass(frozen=True)
class Terminable:
    """Which sessions a viewer may end, worked out once per page (``may_terminate``'s rule
    for many rows at once): every one, or those on the named resources."""

    every: bool
    resources: frozenset[str] = frozenset()

    def __contains__(self, record: SessionRecord) -> bool:
        return self.every or record.resource in self.resources


def sessions_terminable_by(actor: Any) -> Terminable:
    """The ``Terminable`` of ``actor`` (nobody's sessions, for a read-only viewer)."""
    if not (actor and actor.is_authenticated and actor.is_active) or actor.is_service_account:
        return Terminable(every=False)
    if is_admin(actor):
        return Terminable(every=True)
    if is_auditor(actor):
        return Terminable(every=False)
    names = Policy.objects.filter(approver_groups__user=actor).values_list(
        "resource__name", flat=True
    )
    return Terminable(every=False, resources=frozenset(names))


def _payload(record: SessionRecord, reason: str) -> dict[str, Any]:
    return {
        "session": record.session_id,
        "agent": record.agent.name,
        "identity": record.actor_sub,
        "identity_name": record.actor_name,
        "protocol": record.protocol,
        "grant": record.grant_id,
        "reason": reason,
    }


def _send(group: str, body: dict[str, Any]) -> None:
    channel_layer = get_channel_layer()
    if channel_layer is None:
        return
    async_to_sync(channel_layer.group_send)(group, {"type": SESSION_TERMINATE, "terminate": body})


LOST_END_REASON = "lost: the agent restarted without reporting the session's end"


def sessions_lost_end(*, agent: Agent, at: datetime | None = None) -> int:
    """End the sessions ``agent`` left open: called when a fresh agent process says hello
    (revision 0: no snapshot yet, so it serves no session). A ``session.end`` the old
    process still had in its spool arrives later and puts the real end in place."""
    lost = SessionRecord.objects.open().filter(agent=agent)
    return lost.update(ended_at=at or timezone.now(), end_reason=LOST_END_REASON)
